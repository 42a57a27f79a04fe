/**
 * The Slack ChatSurface: posts and updates through the Web API client (pointed at
 * SLACK_API_URL when set). Posts to one channel are spaced by `postIntervalMs` (Slack
 * allows about one message per second per channel); a 429 is retried by the client after
 * its Retry-After.
 */
import type { webApi } from '@slack/bolt';
import type { BatchHeaderModel, CardModel, ChatMessage, ChatRef, ChatSurface, PostBatchProgress, PostedBatch } from '../chatSurface.ts';
import { batchHeaderMessage, cardsMessage, chatMessageBlocks, packCards } from './blocks.ts';

type WebClient = webApi.WebClient;

export interface SlackSurfaceOptions {
  /** The channel for batches whose campaign names none. */
  defaultChannel: string;
  /** Least time between two posts into one channel (ms). */
  postIntervalMs?: number;
}

export class SlackSurface implements ChatSurface {
  readonly name = 'slack' as const;
  private readonly lastPost = new Map<string, Promise<void>>();

  constructor(
    private readonly client: WebClient,
    private readonly opts: SlackSurfaceOptions,
  ) {}

  /** Runs `post` no sooner than postIntervalMs after the previous post into `channel`. */
  private paced<T>(channel: string, post: () => Promise<T>): Promise<T> {
    const interval = this.opts.postIntervalMs ?? 1000;
    const prev = this.lastPost.get(channel) ?? Promise.resolve();
    const result = prev.then(post);
    this.lastPost.set(
      channel,
      result.then(
        () => new Promise((r) => setTimeout(r, interval)),
        () => undefined,
      ),
    );
    return result;
  }

  private async post(channel: string, body: { text: string; blocks?: unknown[]; thread_ts?: string }): Promise<string> {
    const res = await this.paced(channel, () => this.client.chat.postMessage({ channel, unfurl_links: false, unfurl_media: false, ...body } as never));
    if (!res.ts) throw new Error(`Slack chat.postMessage returned no ts (${res.error ?? 'no error given'})`);
    return res.ts;
  }

  async postBatch(header: BatchHeaderModel, cards: CardModel[], progress: PostBatchProgress = {}): Promise<PostedBatch> {
    const channel = header.channel || this.opts.defaultChannel;
    let parent = progress.parent;
    if (!parent) {
      parent = { channel, id: await this.post(channel, batchHeaderMessage(header)) };
      await progress.onPosted?.({ parent });
    }
    const refs: Record<number, ChatRef> = {};
    for (const pack of packCards(cards)) {
      const ts = await this.post(parent.channel, { ...cardsMessage(pack), thread_ts: parent.id });
      const posted: Record<number, ChatRef> = {};
      pack.forEach((card, position) => {
        posted[card.messageId] = { channel: parent.channel, id: ts, thread: parent.id, position };
      });
      Object.assign(refs, posted);
      await progress.onPosted?.({ cards: posted });
    }
    return { parent, cards: refs };
  }

  async updateCard(ref: ChatRef, card: CardModel, packed?: CardModel[]): Promise<void> {
    await this.client.chat.update({ channel: ref.channel, ts: ref.id, ...cardsMessage(packed?.length ? packed : [card]) } as never);
  }

  async updateBatchHeader(ref: ChatRef, header: BatchHeaderModel): Promise<void> {
    await this.client.chat.update({ channel: ref.channel, ts: ref.id, ...batchHeaderMessage(header) } as never);
  }

  async postInThread(parent: ChatRef, message: ChatMessage): Promise<ChatRef> {
    const ts = await this.post(parent.channel, { ...chatMessageBlocks(message), thread_ts: parent.id });
    await this.attachImage(parent.channel, parent.id, message);
    return { channel: parent.channel, id: ts, thread: parent.id };
  }

  async postInChannel(channel: string, message: ChatMessage): Promise<ChatRef> {
    const ts = await this.post(channel, chatMessageBlocks(message));
    await this.attachImage(channel, ts, message);
    return { channel, id: ts };
  }

  async updateMessage(ref: ChatRef, message: ChatMessage): Promise<void> {
    await this.client.chat.update({ channel: ref.channel, ts: ref.id, ...chatMessageBlocks(message) } as never);
  }

  /** The chart of a summary, uploaded into the thread of the message it belongs to. */
  private async attachImage(channel: string, threadTs: string, message: ChatMessage): Promise<void> {
    if (!message.image) return;
    await this.client.files.uploadV2({
      channel_id: channel,
      thread_ts: threadTs,
      file: Buffer.from(message.image.base64, 'base64'),
      filename: message.image.filename,
      alt_text: message.image.alt,
    } as never);
  }
}
