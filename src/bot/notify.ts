/**
 * Wakes the chat outbox workers of this process right after a change committed, so a
 * clicked card re-renders at once instead of at the next poll. Workers in other
 * processes still pick the rows up by polling.
 */
import { EventEmitter } from 'node:events';
import type { Queryable } from '../db/database.ts';
import { enqueueChatPosts, type OutboxItem } from '../db/queries/outbox.ts';

const bell = new EventEmitter();
bell.setMaxListeners(0);

export function ringOutbox(): void {
  bell.emit('ring');
}

export function onOutboxRing(fn: () => void): () => void {
  bell.on('ring', fn);
  return () => bell.off('ring', fn);
}

export interface CardChange {
  messageId: number;
  version: number;
  batchId: number | null;
  /** The campaign's chat surface and any other surface the card was posted on. */
  surfaces: string[];
}

/** Enqueues the re-render of each changed card, and of each affected batch header once per surface. */
export async function enqueueCardChanges(q: Queryable, changes: CardChange[]): Promise<void> {
  const items: OutboxItem[] = [];
  const headers = new Map<string, OutboxItem>();
  for (const ch of changes) {
    for (const [i, surface] of ch.surfaces.entries()) {
      items.push({
        surface,
        kind: 'card',
        // The first surface uses the scheduler's key shape, so both sides dedupe the same render.
        dedupeKey: `card:${ch.messageId}:v${ch.version}${i === 0 ? '' : `:${surface}`}`,
        batchId: ch.batchId,
        payload: { messageId: ch.messageId },
      });
      if (ch.batchId !== null && !headers.has(`${ch.batchId}:${surface}`)) {
        headers.set(`${ch.batchId}:${surface}`, {
          surface,
          kind: 'batch_header',
          dedupeKey: `batch_header:${ch.batchId}:${surface}:m${ch.messageId}v${ch.version}`,
          batchId: ch.batchId,
          payload: { batchId: ch.batchId },
        });
      }
    }
  }
  await enqueueChatPosts(q, [...items, ...headers.values()]);
}

/** The surfaces a card lives on: the campaign's, then any other it was posted to. */
export function cardSurfaces(chatSurface: string | null, cardRefs: Record<string, unknown>): string[] {
  const out = chatSurface ? [chatSurface] : [];
  for (const s of Object.keys(cardRefs ?? {})) if (!out.includes(s)) out.push(s);
  return out;
}
