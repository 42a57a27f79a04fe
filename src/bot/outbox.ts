/**
 * The chat outbox worker: delivers chat_outbox rows to the surfaces of this process.
 * Rows are claimed under a lease (FOR UPDATE SKIP LOCKED), rendered from current
 * database state at delivery, handed to the surface, and marked done; a failure is
 * retried with backoff (next_attempt_at). A batch post stores each part's ref as soon as
 * it is posted, so a retry after Slack was down or the process restarted posts only the
 * rest: never a part twice. Card updates that land on one packed chat message are merged
 * into one update.
 */
import { z } from 'zod';
import type { SurfaceName } from '../config.ts';
import type { AppContext } from '../context.ts';
import {
  getBatchCardRows,
  getBatchRow,
  getCardRows,
  getCardRowsAtRef,
  markBatchPosted,
  storeBatchChatRef,
  storeBatchProgressRef,
  storeCardRefs,
} from '../db/queries/cardRows.ts';
import {
  batchPostPending,
  claimDueChatPosts,
  deferChatPost,
  markChatPostDone,
  markChatPostFailed,
  type OutboxRow,
} from '../db/queries/outboxDelivery.ts';
import { coerceError } from '../errors.ts';
import { cardFromRow, loadBatchCards, loadBatchHeader } from './cards.ts';
import { postKeys, type ChatRef, type ChatSurface, type PostKey } from './chatSurface.ts';
import { renderProgress } from '../scheduler/progress.ts';
import { onOutboxRing } from './notify.ts';

export interface ChatOutboxOptions {
  /** How often to look for due rows when nothing rang (ms). */
  pollMs?: number;
  /** Rows claimed per round. */
  batchSize?: number;
  /** How long a claimed row is ours before another worker may take it (s). */
  leaseSeconds?: number;
  /** Failed deliveries before a row is given up ('dead'). */
  maxAttempts?: number;
}

const refSchema = z.object({ channel: z.string(), id: z.string(), thread: z.string().optional(), position: z.number().int().optional() });
const chatMessageSchema = z.object({
  title: z.string().optional(),
  text: z.string(),
  fields: z.array(z.object({ label: z.string(), value: z.string() })).optional(),
  tone: z.enum(['info', 'success', 'warning', 'alert']).optional(),
  image: z.object({ filename: z.string(), base64: z.string(), alt: z.string() }).optional(),
});
const payloads = {
  batch: z.object({ batchId: z.number().int() }),
  batch_header: z.object({ batchId: z.number().int() }),
  progress: z.object({ batchId: z.number().int() }),
  card: z.object({ messageId: z.number().int() }),
  thread: z.object({ batchId: z.number().int(), message: chatMessageSchema }),
  channel: z.object({ channel: z.string(), message: chatMessageSchema }),
};

/** The stored ref of `surface` in a per-surface refs object, if any. */
function refOn(refs: Record<string, unknown> | null | undefined, surface: string): ChatRef | undefined {
  const r = refSchema.safeParse(refs?.[surface]);
  return r.success ? r.data : undefined;
}

/** A row's post, named by the row: its first attempt has nothing to look for. */
function postKey(row: OutboxRow, kind: 'thread' | 'channel'): PostKey {
  return { key: postKeys.row(kind, row.id), retry: row.attempts > 1, since: row.created_at };
}

/** A delivery that cannot happen yet because another row must land first (not a failure). */
class NotYet extends Error {}

/** Backoff after the n-th failed attempt: 5 s, 10 s, 20 s ... capped at 10 minutes. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(600, 5 * 2 ** Math.max(0, attempts - 1));
}

export interface ChatOutboxWorker {
  /** Runs a round now instead of at the next poll. */
  wake(): void;
  /**
   * Resolves once a whole round that began after this call found nothing due (what was
   * due then is delivered or waiting for a retry), or when the worker stops. Rejects (the
   * round's error as the cause) when such a round fails as a whole (the database is
   * unreachable, say), so a caller waiting on it learns why instead of waiting for ever.
   */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts delivering; `wake()` looks for work now, `stop()` finishes the current round and stops. */
export function startChatOutbox(
  ctx: AppContext,
  surfaces: ReadonlyMap<SurfaceName, ChatSurface>,
  opts: ChatOutboxOptions = {},
): ChatOutboxWorker {
  const pollMs = opts.pollMs ?? 2000;
  const batchSize = opts.batchSize ?? 200;
  const leaseSeconds = opts.leaseSeconds ?? 300;
  const maxAttempts = opts.maxAttempts ?? 30;
  const names = [...surfaces.keys()];
  const log = ctx.log.child({ component: 'chat-outbox' });
  const db = ctx.db.pool;
  let stopped = false;
  let rang = false;
  let wakeUp: (() => void) | undefined;
  let roundsStarted = 0;
  /** idle() callers, each with the number of rounds started before it asked. */
  let idleWaiters: { after: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  /** Settles (and forgets) the idle() callers that asked before round `roundNo` began. */
  const settleIdle = (roundNo: number, outcome: (w: (typeof idleWaiters)[number]) => void) => {
    const ready = idleWaiters.filter((w) => w.after < roundNo);
    idleWaiters = idleWaiters.filter((w) => w.after >= roundNo);
    for (const w of ready) outcome(w);
  };

  const wake = () => {
    rang = true;
    wakeUp?.();
  };
  const unsubscribe = onOutboxRing(wake);

  const surfaceOf = (row: OutboxRow) => surfaces.get(row.surface as SurfaceName)!;

  async function deliverBatch(row: OutboxRow): Promise<unknown> {
    const { batchId } = payloads.batch.parse(row.payload);
    const surface = surfaceOf(row);
    const batch = await getBatchRow(db, batchId);
    if (!batch) return { skipped: 'batch does not exist' };
    const header = await loadBatchHeader(db, ctx, batchId);
    const cards = await loadBatchCards(db, ctx, batchId);
    const parent = refOn(batch.chat_refs, row.surface);
    const posted = new Set((await getBatchCardRows(db, batchId)).filter((r) => refOn(r.card_refs, row.surface)).map((r) => Number(r.id)));
    const remaining = cards.filter((c) => !posted.has(c.messageId));
    const result = await surface.postBatch(header, remaining, {
      ...(parent ? { parent } : {}),
      retry: row.attempts > 1,
      since: row.created_at,
      onPosted: async (part) => {
        if (part.parent) await storeBatchChatRef(db, batchId, row.surface, part.parent);
        if (part.cards) await storeCardRefs(db, row.surface, part.cards);
      },
    });
    // A surface that does not report progress still gets everything stored here.
    await storeBatchChatRef(db, batchId, row.surface, result.parent);
    await storeCardRefs(db, row.surface, result.cards);
    await markBatchPosted(db, batchId);
    return { parent: result.parent, cards: remaining.length, resumed: posted.size };
  }

  /** Card updates grouped by the chat message they live on: one re-render per message. */
  async function deliverCards(rows: OutboxRow[]): Promise<void> {
    const groups = new Map<string, { ref: ChatRef; surface: string; rows: OutboxRow[] }>();
    // One query for every card of the round, not one per row.
    const ids = rows.flatMap((r) => {
      const p = payloads.card.safeParse(r.payload);
      return p.success ? [p.data.messageId] : [];
    });
    const cardsById = new Map((await getCardRows(db, ids)).map((c) => [Number(c.id), c]));
    for (const row of rows) {
      try {
        const { messageId } = payloads.card.parse(row.payload);
        const card = cardsById.get(messageId);
        const ref = card && refOn(card.card_refs, row.surface);
        if (!card || !ref) {
          if (card?.batch_id && (await batchPostPending(db, card.batch_id, row.surface))) throw new NotYet('waiting for the batch to be posted');
          await markChatPostDone(db, row.id, { skipped: 'card was never posted on this surface' });
          continue;
        }
        const key = `${row.surface}|${ref.channel}|${ref.id}`;
        const g = groups.get(key) ?? { ref, surface: row.surface, rows: [] };
        g.rows.push(row);
        groups.set(key, g);
      } catch (e) {
        await failed([row], e);
      }
    }
    for (const g of groups.values()) {
      await settle(g.rows, async () => {
        const packed = (await getCardRowsAtRef(db, g.surface, g.ref.channel, g.ref.id)).map((r) => cardFromRow(ctx, r));
        const first = packed[0];
        if (!first) return { skipped: 'no cards at this ref' };
        await surfaces.get(g.surface as SurfaceName)!.updateCard(g.ref, first, packed);
        return { updated: packed.length };
      });
    }
  }

  /** Rows that all re-render the same batch-level message: delivered once. */
  async function deliverPerBatch(rows: OutboxRow[], deliver: (row: OutboxRow, batchId: number) => Promise<unknown>): Promise<void> {
    const groups = new Map<string, OutboxRow[]>();
    for (const row of rows) {
      const key = `${row.surface}|${(row.payload as { batchId?: unknown }).batchId}`;
      groups.set(key, [...(groups.get(key) ?? []), row]);
    }
    for (const g of groups.values()) {
      await settle(g, async () => deliver(g[0]!, payloads.batch_header.parse(g[0]!.payload).batchId));
    }
  }

  async function parentOf(row: OutboxRow, batchId: number): Promise<ChatRef> {
    const batch = await getBatchRow(db, batchId);
    const parent = batch && refOn(batch.chat_refs, row.surface);
    if (parent) return parent;
    if (batch && (await batchPostPending(db, batchId, row.surface))) throw new NotYet('waiting for the batch to be posted');
    throw new Error(`batch ${batchId} has no parent message on ${row.surface}`);
  }

  async function deliverHeader(row: OutboxRow, batchId: number): Promise<unknown> {
    const batch = await getBatchRow(db, batchId);
    const ref = batch && refOn(batch.chat_refs, row.surface);
    if (!ref) {
      if (batch && (await batchPostPending(db, batchId, row.surface))) throw new NotYet('waiting for the batch to be posted');
      return { skipped: 'batch was never posted on this surface' };
    }
    await surfaceOf(row).updateBatchHeader(ref, await loadBatchHeader(db, ctx, batchId));
    return { updated: ref };
  }

  async function deliverProgress(row: OutboxRow, batchId: number): Promise<unknown> {
    const parent = await parentOf(row, batchId);
    const message = await renderProgress(db, ctx, batchId);
    const batch = await getBatchRow(db, batchId);
    const existing = refOn(batch?.progress_refs, row.surface);
    if (existing) {
      await surfaceOf(row).updateMessage(existing, message);
      return { updated: existing };
    }
    // A batch has one progress message, posted by whichever of its rows comes first: any of
    // them may follow one that posted it and died before storing the ref, so each looks first.
    const ref = await surfaceOf(row).postInThread(parent, message, { key: postKeys.progress(batchId), retry: true });
    await storeBatchProgressRef(db, batchId, row.surface, ref);
    return { posted: ref };
  }

  async function deliverOne(row: OutboxRow): Promise<unknown> {
    switch (row.kind) {
      case 'batch':
        return deliverBatch(row);
      case 'thread': {
        const p = payloads.thread.parse(row.payload);
        return { posted: await surfaceOf(row).postInThread(await parentOf(row, p.batchId), p.message, postKey(row, 'thread')) };
      }
      case 'channel': {
        const p = payloads.channel.parse(row.payload);
        return { posted: await surfaceOf(row).postInChannel(p.channel, p.message, postKey(row, 'channel')) };
      }
      default:
        throw new Error(`unknown chat outbox kind ${String(row.kind)}`);
    }
  }

  async function settle(rows: OutboxRow[], deliver: () => Promise<unknown>): Promise<void> {
    let result: unknown;
    try {
      result = await deliver();
    } catch (e) {
      await failed(rows, e);
      return;
    }
    for (const r of rows) await markChatPostDone(db, r.id, result);
  }

  async function failed(rows: OutboxRow[], e: unknown): Promise<void> {
    for (const r of rows) {
      if (e instanceof NotYet) {
        await deferChatPost(db, r.id, 3, e.message, ctx.clock.now());
        continue;
      }
      const err = coerceError(e);
      const dead = r.attempts >= maxAttempts;
      const delay = retryDelaySeconds(r.attempts);
      log[dead ? 'error' : 'warn'](dead ? 'chat post given up' : 'chat post failed; will retry', {
        id: r.id, kind: r.kind, surface: r.surface, attempts: r.attempts, retryInSeconds: dead ? undefined : delay, err,
      });
      await markChatPostFailed(db, r.id, err.message, delay, dead, ctx.clock.now());
    }
  }

  async function round(): Promise<number> {
    const rows = await claimDueChatPosts(db, names, batchSize, leaseSeconds, ctx.clock.now());
    const of = (k: OutboxRow['kind']) => rows.filter((r) => r.kind === k);
    // Batches first: the card and header updates of this round may need their refs.
    for (const row of of('batch')) await settle([row], () => deliverOne(row));
    await deliverCards(of('card'));
    await deliverPerBatch(of('batch_header'), deliverHeader);
    await deliverPerBatch(of('progress'), deliverProgress);
    for (const row of [...of('thread'), ...of('channel')]) await settle([row], () => deliverOne(row));
    const known = new Set(['batch', 'card', 'batch_header', 'progress', 'thread', 'channel']);
    for (const row of rows.filter((r) => !known.has(r.kind))) await failed([row], new Error(`unknown chat outbox kind ${row.kind}`));
    return rows.length;
  }

  const running = (async () => {
    if (names.length === 0) return;
    while (!stopped) {
      rang = false;
      const roundNo = ++roundsStarted;
      let n: number | null = null;
      try {
        n = await round();
      } catch (e) {
        const err = coerceError(e);
        log.error('chat outbox round failed', { err });
        settleIdle(roundNo, (w) => w.reject(new Error(`a chat outbox round failed: ${err.message}`, { cause: e })));
      }
      if (stopped) break;
      // A whole round that began after the caller asked found nothing due: that caller's posts are out.
      if (n === 0 && !rang) settleIdle(roundNo, (w) => w.resolve());
      if ((n ?? 0) > 0 || rang) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, pollMs);
        wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wakeUp = undefined;
    }
  })();

  return {
    wake,
    idle() {
      if (stopped || names.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        idleWaiters.push({ after: roundsStarted, resolve, reject });
        wake();
      });
    },
    async stop() {
      stopped = true;
      unsubscribe();
      wakeUp?.();
      await running;
      for (const w of idleWaiters) w.resolve();
      idleWaiters = [];
    },
  };
}
