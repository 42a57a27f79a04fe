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
export async function enqueueChatPosts(q: Queryable, items: OutboxItem[]): Promise<number> {
  if (items.length === 0) return 0;
  const { rowCount } = await q.query(
    `INSERT INTO chat_outbox (surface, kind, dedupe_key, batch_id, payload, next_attempt_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::jsonb[], $6::timestamptz[])
     ON CONFLICT (dedupe_key) DO NOTHING`,
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
