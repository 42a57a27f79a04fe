/**
 * Wakes the chat outbox workers of this process right after a change committed, so a
 * clicked card re-renders at once instead of at the next poll. Workers in other
 * processes still pick the rows up by polling.
 */
import { EventEmitter } from 'node:events';
import type { Queryable } from '../db/database.ts';
import { enqueueChatPosts, enqueueCoalescedPosts, type OutboxItem } from '../db/queries/outbox.ts';

const bell = new EventEmitter();
bell.setMaxListeners(0);

export function ringOutbox(): void {
  bell.emit('ring');
}

export function onOutboxRing(fn: () => void): () => void {
  bell.on('ring', fn);
  return () => bell.off('ring', fn);
}

export interface CardRender {
  messageId: number;
  batchId: number | null;
  /** The campaign's chat surface and any other surface the card was posted on. */
  surfaces: string[];
  /** What makes the card render's key unique: the message version (`v3`) or a time bucket (`b123`). */
  stamp: string;
  /** The same for the batch header render: the change (`m12v3`) or the bucket. */
  headerStamp: string;
}

/**
 * The outbox rows that re-render cards, and each affected batch header once per surface
 * (keyed by the first card's header stamp). The first surface's card key has no surface in it,
 * the scheduler's and the approval core's shape, so both dedupe the same render.
 */
export function cardRenderItems(renders: CardRender[], notBefore?: Date): OutboxItem[] {
  const items: OutboxItem[] = [];
  const headers = new Map<string, OutboxItem>();
  for (const r of renders) {
    for (const [i, surface] of r.surfaces.entries()) {
      items.push({
        surface, kind: 'card', dedupeKey: `card:${r.messageId}:${r.stamp}${i === 0 ? '' : `:${surface}`}`,
        batchId: r.batchId, payload: { messageId: r.messageId }, notBefore,
      });
      const place = `${r.batchId}:${surface}`;
      if (r.batchId !== null && !headers.has(place)) {
        headers.set(place, {
          surface, kind: 'batch_header', dedupeKey: `batch_header:${place}:${r.headerStamp}`,
          batchId: r.batchId, payload: { batchId: r.batchId }, notBefore,
        });
      }
    }
  }
  return [...items, ...headers.values()];
}

/** Enqueues the re-render of cards a person changed, at once (key card:<id>:v<version>). */
export async function enqueueCardChanges(
  q: Queryable,
  changes: { messageId: number; version: number; batchId: number | null; surfaces: string[] }[],
  opts: { rearm?: boolean } = {},
): Promise<void> {
  const items = cardRenderItems(changes.map((ch) => ({ ...ch, stamp: `v${ch.version}`, headerStamp: `m${ch.messageId}v${ch.version}` })));
  // `rearm`: render again even if this version was delivered (someone acted on an older card).
  await (opts.rearm ? enqueueCoalescedPosts(q, items) : enqueueChatPosts(q, items));
}

/** The surfaces a card lives on: the campaign's, then any other it was posted to. */
export function cardSurfaces(chatSurface: string | null, cardRefs: Record<string, unknown>): string[] {
  const out = chatSurface ? [chatSurface] : [];
  for (const s of Object.keys(cardRefs ?? {})) if (!out.includes(s)) out.push(s);
  return out;
}
