/**
 * A process frozen inside a transaction must not hold its locks for as long as it stays
 * frozen: our PostgreSQL sessions carry idle_in_transaction_session_timeout, so the server
 * ends such a session, rolls it back and releases its locks. (The whole story, with two
 * scheduler processes, is in test/faults/scheduler.frozen-past-lease.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { IDLE_IN_TRANSACTION_MS, openPostgres } from '../../src/db/database.ts';
import { openTestDatabase } from '../support/db.ts';

describe.skipIf(!process.env.TEST_DATABASE_URL)('a transaction left idle on postgres', () => {
  it('every session carries the idle-in-transaction timeout', async () => {
    const db = await openTestDatabase('postgres');
    try {
      const { rows } = await db.pool.query<{ ms: string }>(`SELECT setting AS ms FROM pg_settings WHERE name = 'idle_in_transaction_session_timeout'`);
      expect(Number(rows[0]!.ms)).toBe(IDLE_IN_TRANSACTION_MS);
    } finally {
      await db.close();
    }
  });

  it('is ended by the server: its locks go to the next session, its writes roll back, the pool goes on', async () => {
    const owner = await openTestDatabase('postgres');
    const frozen = await openPostgres(owner.url!, undefined, 2, 300);
    try {
      await owner.pool.query('CREATE TABLE idle_probe (id int PRIMARY KEY, v text)');
      await owner.pool.query(`INSERT INTO idle_probe VALUES (1, 'before')`);
      const client = await frozen.pool.connect();
      client.on('error', () => undefined); // the server's goodbye arrives while the client is checked out
      await client.query('BEGIN');
      await client.query(`UPDATE idle_probe SET v = 'frozen' WHERE id = 1`);
      await client.query('SELECT pg_advisory_xact_lock(4242)');
      // ...and the process "freezes": it sends nothing more. The row lock and the advisory lock
      // are released when the server ends the session (lock_timeout only makes a failure say so).
      await owner.tx(async (c) => {
        await c.query(`SET LOCAL lock_timeout = '20s'`);
        await c.query('SELECT pg_advisory_xact_lock(4242)');
        await c.query(`UPDATE idle_probe SET v = 'next' WHERE id = 1`);
      });
      expect((await owner.pool.query('SELECT v FROM idle_probe')).rows).toEqual([{ v: 'next' }]);
      // Thawed, the frozen process learns its transaction is gone; nothing it did remains.
      await expect(client.query('COMMIT')).rejects.toThrow();
      client.release(true);
      expect((await frozen.pool.query('SELECT v FROM idle_probe')).rows).toEqual([{ v: 'next' }]);
    } finally {
      await frozen.close();
      await owner.close();
    }
  });
});
