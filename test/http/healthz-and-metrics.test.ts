import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { incCounter } from '../../src/http/metrics.ts';
import { createHttpApp, listen } from '../../src/http/server.ts';
import { silentLogger } from '../../src/log.ts';
import { openTestDatabase } from '../support/db.ts';

describe('GET /healthz and /metrics', () => {
  let db: Database;
  let server: Server;
  let url: string;
  beforeAll(async () => {
    db = await openTestDatabase('pglite');
    server = await listen(createHttpApp({ db, log: silentLogger }), '127.0.0.1', 0, silentLogger);
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server?.close();
    await db?.close();
  });

  it('reports the database engine when it answers', async () => {
    const r = await fetch(`${url}/healthz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ ok: true, database: 'pglite' });
  });

  it('serves counters in the Prometheus text format, labels escaped', async () => {
    incCounter('smsops_test_total', { surface: 'sl"ack' }, 2, 'A counter for this test');
    incCounter('smsops_test_total', { surface: 'sl"ack' });
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toContain('# HELP smsops_test_total A counter for this test\n# TYPE smsops_test_total counter\n');
    expect(text).toContain('smsops_test_total{surface="sl_ack"} 3\n');
  });

  it('answers 404 as JSON for unknown paths', async () => {
    const r = await fetch(`${url}/nope`);
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ error: 'not found' });
  });
});
