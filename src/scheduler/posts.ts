/**
 * What the scheduler says in chat, always through the chat outbox (written in the same
 * transaction as the change it reports): card re-renders, the batch's coalesced progress
 * message, and thread posts (replies, opt-outs, alerts, test sends).
 */
import type { ChatMessage } from '../bot/chatSurface.ts';
import { cardSurfaces, enqueueCardChanges } from '../bot/notify.ts';
import { defaultSurface, type Config } from '../config.ts';
import type { Queryable } from '../db/database.ts';
import { enqueueChatPosts, type OutboxItem } from '../db/queries/outbox.ts';

/** Progress edits are coalesced into one per batch per this many ms. */
export const PROGRESS_COALESCE_MS = 30_000;

/** Enqueues the card re-render of messages whose status changed (key card:<id>:v<version>). */
export async function enqueueCards(q: Queryable, moved: { id: number; version: number }[]): Promise<void> {
  if (moved.length === 0) return;
  const { rows } = await q.query<{ id: number; batch_id: number | null; chat_surface: string | null; card_refs: Record<string, unknown> }>(
    `SELECT m.id, m.batch_id, c.chat_surface, m.card_refs FROM campaign_messages m JOIN campaigns c ON c.id = m.campaign_id
     WHERE m.id = ANY($1::bigint[])`,
    [moved.map((m) => m.id)],
  );
  const byId = new Map(rows.map((r) => [Number(r.id), r]));
  await enqueueCardChanges(
    q,
    moved.flatMap((m) => {
      const r = byId.get(m.id);
      if (!r || r.batch_id === null) return [];
      const surfaces = cardSurfaces(r.chat_surface, r.card_refs);
      return surfaces.length ? [{ messageId: m.id, version: m.version, batchId: Number(r.batch_id), surfaces }] : [];
    }),
  );
}

/**
 * Enqueues the progress edit of each batch, coalesced: one row per batch per 30 s bucket,
 * delivered at the end of its bucket, rendered then from current state (renderProgress).
 */
export async function enqueueProgress(q: Queryable, batchIds: Iterable<number | null>, now: Date): Promise<void> {
  const ids = [...new Set([...batchIds].filter((b): b is number => b !== null))];
  if (ids.length === 0) return;
  const { rows } = await q.query<{ id: number; chat_surface: string | null }>(
    `SELECT b.id, c.chat_surface FROM batches b JOIN campaigns c ON c.id = b.campaign_id WHERE b.id = ANY($1::bigint[])`,
    [ids],
  );
  const bucket = Math.floor(now.getTime() / PROGRESS_COALESCE_MS);
  const items: OutboxItem[] = rows
    .filter((r) => r.chat_surface)
    .map((r) => ({
      surface: r.chat_surface!,
      kind: 'progress',
      dedupeKey: `progress:${r.id}:${bucket}`,
      batchId: Number(r.id),
      payload: { batchId: Number(r.id) },
      notBefore: new Date((bucket + 1) * PROGRESS_COALESCE_MS),
    }));
  await enqueueChatPosts(q, items);
}

/**
 * Posts into a batch's thread (or, without a batch, at the top of the campaign's channel).
 * `key` makes the post unique (a retried webhook never posts twice).
 */
export async function postToThread(
  q: Queryable,
  config: Config,
  p: { campaignId: number | null; batchId: number | null; key: string; message: ChatMessage },
): Promise<void> {
  let surface: string | null = null;
  let channel: string | null = null;
  if (p.campaignId !== null) {
    const { rows } = await q.query<{ chat_surface: string | null; chat_channel: string | null }>(
      'SELECT chat_surface, chat_channel FROM campaigns WHERE id = $1',
      [p.campaignId],
    );
    surface = rows[0]?.chat_surface ?? null;
    channel = rows[0]?.chat_channel ?? null;
  }
  const fallback = defaultSurface(config);
  surface ??= fallback.surface;
  channel ??= fallback.channel;
  await enqueueChatPosts(q, [
    p.batchId !== null
      ? { surface, kind: 'thread', dedupeKey: p.key, batchId: p.batchId, payload: { batchId: p.batchId, message: p.message } }
      : { surface, kind: 'channel', dedupeKey: p.key, payload: { channel, message: p.message } },
  ]);
}
