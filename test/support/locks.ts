/** Tests of concurrent transactions on PostgreSQL: waiting until other sessions are blocked on a lock. */
import type { Queryable } from '../../src/db/database.ts';

/**
 * Resolves once at least `n` other backends of this database wait on a heavyweight lock
 * (a row lock, a unique-key insert): the interleaving under test has been reached. Ask
 * through the pool, not from inside a transaction (statistics views are a snapshot there).
 */
export async function waitForLockWaiters(observer: Queryable, n: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await observer.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`,
    );
    if (rows[0].n >= n) return;
    if (Date.now() > until) throw new Error(`only ${rows[0].n} of ${n} sessions reached the lock wait`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
