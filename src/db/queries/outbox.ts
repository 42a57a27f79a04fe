/**
 * The chat outbox: posts are written in the same transaction as the change they report
 * and delivered later by the outbox worker (src/bot/outbox.ts), so a post is never lost
 * when chat is down and never doubled by a retried webhook (dedupe_key is unique).
 */
import type { Queryable } from '../database.ts';

export type OutboxKind =
  /** Post a batch: parent message + cards. payload: { batchId } */
  | 'batch'
  /** Re-render a message's card in place. payload: { messageId } */
  | 'card'
  /** Re-render a batch's parent message in place. payload: { batchId } */
  | 'batch_header'
  /** Create or update the batch's one progress message. payload: { batchId } */
  | 'progress'
  /** A message in the batch's thread. payload: { batchId, message: ChatMessage } */
  | 'thread'
  /** A top-level post in a channel. payload: { channel, message: ChatMessage } */
  | 'channel';

export interface OutboxItem {
  surface: string;
  kind: OutboxKind;
  dedupeKey: string;
  batchId?: number | null;
  payload: Record<string, unknown>;
  /** Deliver no earlier than this (coalescing progress updates). */
  notBefore?: Date;
}

/** Enqueues posts; a repeated dedupe key is ignored. Returns how many were new. */
export function enqueueChatPosts(q: Queryable, items: OutboxItem[]): Promise<number> {
  return insertPosts(q, items, 'DO NOTHING');
}

/**
 * Enqueues coalesced posts, whose dedupe key names a time bucket (progress, scheduler card
 * re-renders): a key already waiting absorbs the new change (delivery renders current
 * state), and a key whose row was already delivered is armed again, so a change that lands
 * after an early delivery is still shown. Dead rows stay dead.
 */
export async function enqueueCoalescedPosts(q: Queryable, items: OutboxItem[]): Promise<void> {
  // One row per key in a statement: ON CONFLICT DO UPDATE may not touch a row twice.
  const unique = [...new Map(items.map((i) => [i.dedupeKey, i])).values()];
  await insertPosts(
    q,
    unique,
    `DO UPDATE SET status = 'pending', attempts = 0, next_attempt_at = EXCLUDED.next_attempt_at, done_at = NULL, last_error = NULL, result = NULL
     WHERE chat_outbox.status = 'done'`,
  );
}

async function insertPosts(q: Queryable, items: OutboxItem[], onConflict: string): Promise<number> {
  if (items.length === 0) return 0;
  const { rowCount } = await q.query(
    `INSERT INTO chat_outbox (surface, kind, dedupe_key, batch_id, payload, next_attempt_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::jsonb[], $6::timestamptz[])
     ON CONFLICT (dedupe_key) ${onConflict}`,
    [
      items.map((i) => i.surface),
      items.map((i) => i.kind),
      items.map((i) => i.dedupeKey),
      items.map((i) => i.batchId ?? null),
      items.map((i) => JSON.stringify(i.payload)),
      items.map((i) => i.notBefore ?? new Date()),
    ],
  );
  return rowCount ?? 0;
}
