/**
 * What the scheduler says in chat, always through the chat outbox (written in the same
 * transaction as the change it reports): card re-renders, the batch's coalesced progress
 * message, and thread posts (replies, opt-outs, alerts, test sends).
 * What the scheduler itself changes (sent, delivered, failed ...) is coalesced per 30 s
 * bucket: a 300-message batch costs one card edit per message and one header edit per
 * bucket, not two chat API calls per status change.
 */
import type { ChatMessage } from '../bot/chatSurface.ts';
import { cardRenderItems, cardSurfaces, enqueueCardChanges } from '../bot/notify.ts';
import { defaultSurface, type Config } from '../config.ts';
import type { Queryable } from '../db/database.ts';
import { enqueueChatPosts, enqueueCoalescedPosts, type OutboxItem } from '../db/queries/outbox.ts';
import { getCampaign } from '../db/queries/campaigns.ts';
import { batchSurfaces, cardRefsOf } from './queries.ts';

/** Scheduler-originated edits (progress, card re-renders) are coalesced into one per this many ms. */
export const COALESCE_MS = 30_000;

interface CardPlace {
  id: number;
  batchId: number;
  surfaces: string[];
}

/** Where the cards of `ids` live (messages without a batch or a surface have no card). */
async function cardPlaces(q: Queryable, ids: number[]): Promise<Map<number, CardPlace>> {
  const out = new Map<number, CardPlace>();
  for (const r of await cardRefsOf(q, ids)) {
    const surfaces = cardSurfaces(r.chat_surface, r.card_refs);
    if (surfaces.length) out.set(Number(r.id), { id: Number(r.id), batchId: Number(r.batch_id), surfaces });
  }
  return out;
}

/**
 * Enqueues the card re-render of messages whose status changed, at once (key
 * card:<id>:v<version>), and their batches' progress (coalesced): for changes a person
 * asked for (a cancel, a STOP) and for messages the planner sends to review, in any batch.
 */
export async function enqueueCards(q: Queryable, moved: { id: number; version: number }[], now: Date): Promise<void> {
  if (moved.length === 0) return;
  const places = await cardPlaces(q, moved.map((m) => m.id));
  await enqueueCardChanges(
    q,
    moved.flatMap((m) => {
      const p = places.get(m.id);
      return p ? [{ messageId: m.id, version: m.version, batchId: p.batchId, surfaces: p.surfaces }] : [];
    }),
  );
  await enqueueProgress(q, [...places.values()].map((p) => p.batchId), now);
}

/**
 * Enqueues the card re-render of messages the scheduler moved (sent, delivered, failed ...),
 * coalesced: one card row per message and one batch_header row per batch and surface per
 * 30 s bucket, delivered at the end of the bucket and rendered then from current state;
 * and their batches' progress, which counts them (coalesced the same way).
 * Messages without a batch have no card and cost no query.
 */
export async function enqueueCoalescedCards(q: Queryable, moved: { id: number; batchId: number | null }[], now: Date): Promise<void> {
  const ids = moved.filter((m) => m.batchId !== null).map((m) => m.id);
  if (ids.length === 0) return;
  const places = await cardPlaces(q, ids);
  const bucket = Math.floor(now.getTime() / COALESCE_MS);
  const renders = [...places.values()].map((p) => ({ messageId: p.id, batchId: p.batchId, surfaces: p.surfaces, stamp: `b${bucket}`, headerStamp: `b${bucket}` }));
  await enqueueCoalescedPosts(q, cardRenderItems(renders, new Date((bucket + 1) * COALESCE_MS)));
  await enqueueProgress(q, moved.map((m) => m.batchId), now);
}

/**
 * Enqueues the progress edit of each batch, coalesced: one row per batch per 30 s bucket,
 * delivered at the end of its bucket, rendered then from current state (renderProgress).
 */
export async function enqueueProgress(q: Queryable, batchIds: Iterable<number | null>, now: Date): Promise<void> {
  const ids = [...new Set([...batchIds].filter((b): b is number => b !== null))];
  if (ids.length === 0) return;
  const rows = await batchSurfaces(q, ids);
  const bucket = Math.floor(now.getTime() / COALESCE_MS);
  const items: OutboxItem[] = rows
    .filter((r) => r.chat_surface)
    .map((r) => ({
      surface: r.chat_surface!,
      kind: 'progress',
      dedupeKey: `progress:${r.id}:${bucket}`,
      batchId: Number(r.id),
      payload: { batchId: Number(r.id) },
      notBefore: new Date((bucket + 1) * COALESCE_MS),
    }));
  await enqueueCoalescedPosts(q, items);
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
    const campaign = await getCampaign(q, p.campaignId);
    surface = campaign?.chat_surface ?? null;
    channel = campaign?.chat_channel ?? null;
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
