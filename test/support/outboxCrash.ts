/**
 * A chat outbox row as a process that died after the platform accepted its post, before the
 * outbox recorded it, leaves it once its lease has run out: pending and due (its attempt counted).
 */
import { expect } from 'vitest';
import type { Queryable } from '../../src/db/database.ts';

export async function asIfCrashedAfterPosting(q: Queryable, dedupeKey: string): Promise<void> {
  const { rowCount } = await q.query(
    `UPDATE chat_outbox SET status = 'pending', done_at = NULL, next_attempt_at = now() - interval '1 second'
     WHERE dedupe_key = $1 AND status = 'done'`,
    [dedupeKey],
  );
  expect(rowCount, `outbox row ${dedupeKey} was delivered`).toBe(1);
}
