/**
 * A process frozen inside a transaction must not hold its locks for as long as it stays
 * frozen: our transactions carry idle_in_transaction_session_timeout (SET LOCAL), so the
 * server ends such a session, rolls it back and releases its locks. (The whole story, with
 * two scheduler processes, is in test/faults/scheduler.frozen-past-lease.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { IDLE_IN_TRANSACTION_MS, openPostgres } from '../../src/db/database.ts';
import { openTestDatabase } from '../support/db.ts';

describe.skipIf(!process.env.TEST_DATABASE_URL)('a transaction left idle on postgres', () => {
  it('every transaction carries the idle-in-transaction timeout, and only transactions do', async () => {
    const db = await openTestDatabase('postgres');
    const setting = `SELECT setting::int AS ms FROM pg_settings WHERE name = 'idle_in_transaction_session_timeout'`;
    try {
      expect(await db.tx(async (c) => (await c.query<{ ms: number }>(setting)).rows[0]!.ms)).toBe(IDLE_IN_TRANSACTION_MS);
      expect((await db.pool.query<{ ms: number }>(setting)).rows[0]!.ms).toBe(0);
    } finally {
      await db.close();
    }
  });

  it('is ended by the server: its locks go to the next transaction, its writes roll back', async () => {
    const owner = await openTestDatabase('postgres');
    const frozen = await openPostgres(owner.url!, undefined, 2, 2_000);
    try {
      await owner.pool.query('CREATE TABLE idle_probe (id int PRIMARY KEY, v text)');
      await owner.pool.query(`INSERT INTO idle_probe VALUES (1, 'before')`);
      let locked!: () => void;
      const holding = new Promise<void>((r) => (locked = r));
      let thaw!: () => void;
      const thawed = new Promise<void>((r) => (thaw = r));
      // A transaction that stops sending anything after taking its locks, as a frozen process would.
      const stuck = frozen.tx(async (c) => {
        await c.query(`UPDATE idle_probe SET v = 'frozen' WHERE id = 1`);
        await c.query('SELECT pg_advisory_xact_lock(4242)');
        locked();
        await thawed;
      });
      stuck.catch(() => undefined);
      await holding;
      // Both locks come free when the server ends that session (lock_timeout only makes a failure say so).
      const next = await owner.pool.connect();
      try {
        await next.query(`BEGIN; SET LOCAL lock_timeout = '20s'`);
        await next.query('SELECT pg_advisory_xact_lock(4242)');
        await next.query(`UPDATE idle_probe SET v = 'next' WHERE id = 1`);
        await next.query('COMMIT');
      } finally {
        next.release();
      }
      expect((await owner.pool.query('SELECT v FROM idle_probe')).rows).toEqual([{ v: 'next' }]);
      // Thawed, the frozen transaction learns it is gone; nothing it did remains, and its pool goes on.
      thaw();
      await expect(stuck).rejects.toThrow();
      expect((await frozen.pool.query('SELECT v FROM idle_probe')).rows).toEqual([{ v: 'next' }]);
    } finally {
      await frozen.close();
      await owner.close();
    }
  });
});
