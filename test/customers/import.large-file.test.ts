import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { importCustomers } from '../../src/customers/importCustomers.ts';
import type { Database } from '../../src/db/database.ts';
import { engines, openTestDatabase, type Engine } from '../support/db.ts';
import { writeSyntheticCustomers } from './syntheticCsv.ts';

/**
 * PostgreSQL imports the full 100k rows; embedded PGlite runs the database in this process
 * and takes many times longer, so it gets 20k rows (bench/import.ts covers 100k on both).
 */
const ROWS: Record<Engine, number> = { postgres: 100_000, pglite: 20_000 };

describe.each(engines.map((engine) => [engine, ROWS[engine]] as const))('a customer file on %s with %i rows', (engine, rows) => {
  let db: Database;
  let dir: string;
  let file: string;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    dir = mkdtempSync(join(tmpdir(), 'smsops-import-large-'));
    file = join(dir, 'customers.csv');
    await writeSyntheticCustomers(file, rows, new Date('2026-01-15T12:00:00Z'));
  });
  afterAll(async () => {
    await db?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // A busy shared machine can slow the import several times over: give it room.
  it('imports every row, streaming in batches', { timeout: 600_000 }, async () => {
    const batches: number[] = [];
    const summary = await importCustomers({ db, config: { phoneRegion: 'US' }, clock: new ManualClock('2026-01-15T12:00:00Z') }, file, {
      onProgress: (p) => batches.push(p.rows),
    });
    expect(summary).toMatchObject({ rows, imported: rows, rejected: 0, duplicates: 0 });
    const { rows: stored } = await db.pool.query<{ n: number; gold: number; denied: number }>(
      `SELECT count(*)::int AS n,
              count(*) FILTER (WHERE attributes->>'loyalty_tier' = 'gold')::int AS gold,
              count(*) FILTER (WHERE consent_status = 'denied')::int AS denied
       FROM customers`,
    );
    expect(stored[0]).toEqual({ n: rows, gold: rows / 10, denied: rows / 4 });
    expect(batches).toHaveLength(rows / 1000);
  });
});
