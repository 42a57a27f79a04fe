/**
 * The Discord ChatSurface: posts and edits messages through discord.js' REST client
 * (@discordjs/rest), which queues per route and waits out 429s with Discord's own
 * rate-limit headers. A batch is a parent message in the campaign's channel with a
 * thread started from it; the cards go into the thread, up to five per message.
 *
 * Posts are idempotent across retries: messages are created with a nonce and
 * `enforce_nonce`, so a retried create returns the message an earlier attempt made, and a
 * thread that already exists for the parent is reused. Discord remembers a nonce for a few
 * minutes: enough for the REST client's own retries and the outbox's first ones, not always
 * for a retry after a crash, which waits out the outbox's 5-minute lease.
 */
import { DiscordAPIError, REST, Routes, type RESTPostAPIChannelMessageResult } from 'discord.js';
import type { AppContext } from '../../context.ts';
import { getCardRowsAtRef } from '../../db/queries/cardRows.ts';
import { cardFromRow } from '../cards.ts';
import {
  postKeys,
  type BatchHeaderModel,
  type CardModel,
  type ChatMessage,
  type ChatRef,
  type ChatSurface,
  type PostBatchProgress,
  type PostedBatch,
  type PostKey,
} from '../chatSurface.ts';
import { batchHeaderMessage, cardsMessage, chatMessage, packCards, threadName, type DiscordMessage } from './render.ts';

/** Discord's error code for "A thread has already been created for this message". */
const THREAD_ALREADY_CREATED = 160004;

/** The REST client for the configured bot, pointed at DISCORD_API_URL when set (a proxy or a test peer). */
export function createDiscordRest(d: { token: string; apiUrl: string | undefined }): REST {
  return new REST({ version: '10', ...(d.apiUrl ? { api: d.apiUrl } : {}) }).setToken(d.token);
}

/** The discord.js REST request options for a rendered message (JSON, or multipart when it has files). */
export function requestOf(m: DiscordMessage): { body: unknown; files?: { name: string; data: Buffer; contentType: string }[] } {
  return m.files?.length ? { body: m.body, files: m.files } : { body: m.body };
}

/** Every card that shares the Discord message at `ref`, in position order, from current state. */
export async function cardsAtRef(ctx: AppContext, ref: Pick<ChatRef, 'channel' | 'id'>): Promise<CardModel[]> {
  const rows = await getCardRowsAtRef(ctx.db.pool, 'discord', ref.channel, ref.id);
  return rows.map((r) => cardFromRow(ctx, r));
}

export class DiscordSurface implements ChatSurface {
  readonly name = 'discord' as const;

  constructor(readonly rest: REST) {}

  /** Creates a message; with a key (see PostKey), as its nonce, so Discord answers a repeat with the first message. */
  private async create(channel: string, m: DiscordMessage, key?: string): Promise<RESTPostAPIChannelMessageResult> {
    const req = requestOf(m);
    if (key) req.body = { ...(req.body as object), nonce: `smsops-${key}`, enforce_nonce: true };
    return (await this.rest.post(Routes.channelMessages(channel), req)) as RESTPostAPIChannelMessageResult;
  }

  private async edit(ref: ChatRef, m: DiscordMessage): Promise<void> {
    await this.rest.patch(Routes.channelMessage(ref.channel, ref.id), requestOf(m));
  }

  /** Starts the batch thread from its parent message; a thread made by an earlier attempt is reused. */
  private async ensureThread(parent: ChatRef, header: BatchHeaderModel): Promise<string> {
    try {
      const thread = (await this.rest.post(Routes.threads(parent.channel, parent.id), {
        body: { name: threadName(header), auto_archive_duration: 10080 },
      })) as { id: string };
      return thread.id;
    } catch (e) {
      // A thread started from a message has that message's id.
      if (e instanceof DiscordAPIError && e.code === THREAD_ALREADY_CREATED) return parent.id;
      throw e;
    }
  }

  async postBatch(header: BatchHeaderModel, cards: CardModel[], progress?: PostBatchProgress): Promise<PostedBatch> {
    let parent = progress?.parent;
    if (!parent) {
      const posted = await this.create(header.channel, batchHeaderMessage(header), postKeys.batch(header.batchId));
      parent = { channel: posted.channel_id, id: posted.id };
      await progress?.onPosted?.({ parent });
    }
    const thread = await this.ensureThread(parent, header);
    const refs: Record<number, ChatRef> = {};
    for (const chunk of packCards([...cards].sort((a, b) => a.messageId - b.messageId))) {
      const posted = await this.create(thread, cardsMessage(chunk), postKeys.cards(header.batchId, chunk[0]!.messageId));
      const part: Record<number, ChatRef> = {};
      chunk.forEach((c, i) => {
        part[c.messageId] = { channel: thread, id: posted.id, thread, position: i + 1 };
      });
      Object.assign(refs, part);
      await progress?.onPosted?.({ cards: part });
    }
    return { parent, cards: refs };
  }

  async updateCard(ref: ChatRef, card: CardModel, packed?: CardModel[]): Promise<void> {
    // The outbox hands over every card of the message (it re-renders them from current state).
    await this.edit(ref, cardsMessage(packed?.length ? packed : [card]));
  }

  async updateBatchHeader(ref: ChatRef, header: BatchHeaderModel): Promise<void> {
    await this.edit(ref, batchHeaderMessage(header));
  }

  async postInThread(parent: ChatRef, message: ChatMessage, post?: PostKey): Promise<ChatRef> {
    // A batch parent's thread has the parent's id; a ref posted inside a thread names it.
    const thread = parent.thread ?? parent.id;
    const posted = await this.create(thread, chatMessage(message), post?.key);
    return { channel: posted.channel_id, id: posted.id, thread };
  }

  async postInChannel(channel: string, message: ChatMessage, post?: PostKey): Promise<ChatRef> {
    const posted = await this.create(channel, chatMessage(message), post?.key);
    return { channel: posted.channel_id, id: posted.id };
  }

  async updateMessage(ref: ChatRef, message: ChatMessage): Promise<void> {
    await this.edit(ref, chatMessage(message));
  }
}
