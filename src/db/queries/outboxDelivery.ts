/**
 * The delivery side of the chat outbox (src/bot/outbox.ts): claim due rows under a lease,
 * then mark them done, or failed with a backoff. Due-ness uses the database clock, the
 * same one that stamped the rows.
 */
import type { OutboxKind } from './outbox.ts';
import type { Queryable } from '../database.ts';

export interface OutboxRow {
  id: number;
  surface: string;
  kind: OutboxKind;
  dedupe_key: string;
  batch_id: number | null;
  payload: Record<string, unknown>;
  attempts: number;
  /** When the post was asked for (the database's clock): nothing a delivery of it posted is older. */
  created_at: Date;
}

/**
 * Claims up to `limit` due rows for `surfaces` (FOR UPDATE SKIP LOCKED: two workers never
 * get the same row). Side effect: attempts+1 and next_attempt_at pushed past the lease, so
 * a worker that dies mid-delivery hands the row on when the lease runs out.
 */
/**
 * Due by either clock: producers write notBefore on the app clock (a fast demo clock runs
 * ahead of the database's), rows without one default to the database's time.
 */
export async function claimDueChatPosts(q: Queryable, surfaces: string[], limit: number, leaseSeconds: number, now: Date): Promise<OutboxRow[]> {
  const { rows } = await q.query<OutboxRow>(
    `WITH due AS (
       SELECT id FROM chat_outbox
       WHERE status = 'pending' AND next_attempt_at <= GREATEST($4::timestamptz, now()) AND surface = ANY($1::text[])
       ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
     )
     UPDATE chat_outbox o SET attempts = o.attempts + 1, next_attempt_at = GREATEST($4::timestamptz, now()) + make_interval(secs => $3)
     FROM due WHERE o.id = due.id
     RETURNING o.id, o.surface, o.kind, o.dedupe_key, o.batch_id, o.payload, o.attempts, o.created_at`,
    [surfaces, limit, leaseSeconds, now],
  );
  return rows.sort((a, b) => Number(a.id) - Number(b.id));
}

/** Side effect: the row is delivered for good. */
export async function markChatPostDone(q: Queryable, id: number, result: unknown): Promise<void> {
  await q.query(`UPDATE chat_outbox SET status = 'done', done_at = now(), last_error = NULL, result = $2 WHERE id = $1`, [
    id,
    JSON.stringify(result ?? null),
  ]);
}

/** Side effect: retried after `delaySeconds`, or given up ('dead') when `dead`. */
export async function markChatPostFailed(q: Queryable, id: number, error: string, delaySeconds: number, dead: boolean, now: Date): Promise<void> {
  await q.query(
    `UPDATE chat_outbox SET status = CASE WHEN $4 THEN 'dead' ELSE 'pending' END,
            last_error = $2, next_attempt_at = GREATEST($5::timestamptz, now()) + make_interval(secs => $3) WHERE id = $1`,
    [id, error.slice(0, 2000), delaySeconds, dead, now],
  );
}

/** Side effect: tried again after `delaySeconds` without counting as a failure (waiting on another row). */
export async function deferChatPost(q: Queryable, id: number, delaySeconds: number, reason: string, now: Date): Promise<void> {
  await q.query(
    `UPDATE chat_outbox SET attempts = GREATEST(attempts - 1, 0), last_error = $2,
            next_attempt_at = GREATEST($4::timestamptz, now()) + make_interval(secs => $3) WHERE id = $1`,
    [id, reason, delaySeconds, now],
  );
}

/** Whether the batch's own post on `surface` is still waiting to be delivered. */
export async function batchPostPending(q: Queryable, batchId: number, surface: string): Promise<boolean> {
  const { rows } = await q.query(
    `SELECT 1 FROM chat_outbox WHERE batch_id = $1 AND surface = $2 AND kind = 'batch' AND status = 'pending' LIMIT 1`,
    [batchId, surface],
  );
  return rows.length > 0;
}
