import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { importCustomers } from '../../src/customers/importCustomers.ts';
import type { Database } from '../../src/db/database.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { writeSyntheticCustomers } from './syntheticCsv.ts';

const ROWS = 100_000;

describe.each(engines)(`a ${ROWS}-row customer file on %s`, (engine) => {
  let db: Database;
  let dir: string;
  let file: string;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    dir = mkdtempSync(join(tmpdir(), 'smsops-import-large-'));
    file = join(dir, 'customers.csv');
    await writeSyntheticCustomers(file, ROWS, new Date('2026-01-15T12:00:00Z'));
  });
  afterAll(async () => {
    await db?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // PGlite runs the whole database in this process: give a busy machine room (typically well under a minute).
  it('imports every row, streaming in batches', { timeout: 600_000 }, async () => {
    const batches: number[] = [];
    const summary = await importCustomers({ db, config: { phoneRegion: 'US' }, clock: new ManualClock('2026-01-15T12:00:00Z') }, file, {
      onProgress: (p) => batches.push(p.rows),
    });
    expect(summary).toMatchObject({ rows: ROWS, imported: ROWS, rejected: 0, duplicates: 0 });
    const { rows } = await db.pool.query<{ n: number; gold: number; denied: number }>(
      `SELECT count(*)::int AS n,
              count(*) FILTER (WHERE attributes->>'loyalty_tier' = 'gold')::int AS gold,
              count(*) FILTER (WHERE consent_status = 'denied')::int AS denied
       FROM customers`,
    );
    expect(rows[0]).toEqual({ n: ROWS, gold: ROWS / 10, denied: ROWS / 4 });
    expect(batches).toHaveLength(ROWS / 1000);
  });
});
