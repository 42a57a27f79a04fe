/**
 * The Slack ChatSurface: posts and updates through the Web API client (pointed at
 * SLACK_API_URL when set). Posts to one channel are spaced by `postIntervalMs` (Slack
 * allows about one message per second per channel); a 429 is retried by the client after
 * its Retry-After.
 *
 * Slack has no idempotency key, so each post carries its key in the message's metadata,
 * and a retried delivery looks for it in the thread (conversations.replies) or among the
 * channel's latest messages (conversations.history) before posting again. Looking needs the
 * channels:history and groups:history scopes and the bot in the channel; without them it
 * posts, as before, and says so once.
 */
import type { webApi } from '@slack/bolt';
import { coerceError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { postKeys, type BatchHeaderModel, type CardModel, type ChatMessage, type ChatRef, type ChatSurface, type PostBatchProgress, type PostedBatch, type PostKey } from '../chatSurface.ts';
import { batchHeaderMessage, cardsMessage, chatMessageBlocks, packCards } from './blocks.ts';

type WebClient = webApi.WebClient;
/** A message as conversations.history and replies return it (the fields looked at). */
type SlackMessage = { ts?: string; bot_id?: string; metadata?: { event_type?: string; event_payload?: unknown }; files?: { name?: string }[] };

/** The metadata event type of our posts (its payload holds the post's key). */
const POST_EVENT_TYPE = 'smsops_post';
/** Slack's answers that say this app may not read the channel: posting goes on without looking. */
const CANNOT_READ_HISTORY = new Set(['missing_scope', 'not_in_channel', 'not_allowed_token_type']);
/**
 * Pages of 200 messages looked through for a post an earlier attempt made: a thread is read
 * oldest first from when the post was asked for, so only a thread that got thousands of
 * messages since then hides it.
 */
const LOOKUP_PAGES = 25;
/** How far Slack's clock (its ts) may be from the database's (the outbox row's created_at). */
const CLOCK_MARGIN_MS = 10 * 60_000;
/** The Web API client's error codes: Slack refused for now (took nothing), or its answer never came (it may have taken it). */
const RATE_LIMITED = 'slack_webapi_rate_limited_error';
const ANSWER_LOST = new Set(['slack_webapi_request_error', 'slack_webapi_http_error']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How often and how soon a call is tried again (the Web API client's retryConfig). */
export interface RetryPolicy {
  retries: number;
  factor?: number;
  minTimeout?: number;
  maxTimeout?: number;
}

export interface SlackSurfaceOptions {
  /** The channel for batches whose campaign names none. */
  defaultChannel: string;
  /** Least time between two posts into one channel (ms). */
  postIntervalMs?: number;
  log?: Logger;
  /**
   * The client chat.postMessage goes through: without retries of its own and rejecting
   * 429s, so that post() decides (default: the main client, which retries by itself).
   */
  postClient?: WebClient;
  /** post()'s retries after an answer that was lost (a post Slack may have taken). */
  postRetry?: RetryPolicy;
  /** This app's bot id (auth.test), once known: a post is ours only if it carries it. */
  botId?: () => string | undefined;
}

export class SlackSurface implements ChatSurface {
  readonly name = 'slack' as const;
  private readonly lastPost = new Map<string, Promise<void>>();
  /** Said once: the app cannot read history, so a retry may post twice. */
  private warnedNoHistory = false;

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

  /**
   * Posts unless `post` says an earlier attempt may have, and it is found: the ts either way.
   * A 429 is waited out and tried again (Slack took nothing). A lost answer (the connection
   * dropped, a 5xx) may hide a post Slack took: with a key it is looked for before trying
   * again; without one it is not tried again here, since that could post it twice.
   */
  private async post(channel: string, body: { text: string; blocks?: unknown[]; thread_ts?: string }, post?: PostKey): Promise<{ ts: string; found: boolean }> {
    if (post?.retry) {
      const found = await this.findPosted(channel, post, body.thread_ts);
      if (found) return { ts: found, found: true };
    }
    const metadata = post && { metadata: { event_type: POST_EVENT_TYPE, event_payload: { key: post.key } } };
    const policy = this.opts.postRetry ?? { retries: 0 };
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.paced(channel, () =>
          (this.opts.postClient ?? this.client).chat.postMessage({ channel, unfurl_links: false, unfurl_media: false, ...body, ...metadata } as never),
        );
        if (!res.ts) throw new Error(`Slack chat.postMessage returned no ts (${res.error ?? 'no error given'})`);
        return { ts: res.ts, found: false };
      } catch (e) {
        const code = (e as { code?: string }).code ?? '';
        const rateLimited = code === RATE_LIMITED;
        if (attempt >= policy.retries || !(rateLimited || (post && ANSWER_LOST.has(code)))) throw e;
        if (rateLimited) await sleep(((e as { retryAfter?: number }).retryAfter ?? 1) * 1000);
        else {
          await sleep(Math.min(policy.maxTimeout ?? 10_000, (policy.minTimeout ?? 1000) * (policy.factor ?? 2) ** attempt));
          const found = await this.findPosted(channel, post!, body.thread_ts);
          if (found) return { ts: found, found: true };
        }
      }
    }
  }

  /** The ts of this app's post with `post.key` in `thread` (else in the channel), if there is one. */
  private async findPosted(channel: string, post: PostKey, thread: string | undefined): Promise<string | undefined> {
    const ours = this.opts.botId?.();
    const hit = await this.findMessage(
      channel,
      thread,
      (m) => m.metadata?.event_type === POST_EVENT_TYPE && (m.metadata.event_payload as { key?: unknown } | undefined)?.key === post.key && (!ours || m.bot_id === ours),
      post.since,
    );
    return hit?.ts;
  }

  /**
   * The first message of `thread` (else of the channel, newest first) that `match`es, looking
   * only as far back as `since` allows (less the clocks' margin); none when the app may not read it.
   */
  private async findMessage(channel: string, thread: string | undefined, match: (m: SlackMessage) => boolean, since?: Date): Promise<SlackMessage | undefined> {
    let cursor: string | undefined;
    const oldest = since && { oldest: ((since.getTime() - CLOCK_MARGIN_MS) / 1000).toFixed(6) };
    try {
      for (let page = 0; page < LOOKUP_PAGES; page++) {
        const args = { channel, include_all_metadata: true, limit: 200, ...oldest, ...(cursor ? { cursor } : {}) };
        const res = thread ? await this.client.conversations.replies({ ...args, ts: thread }) : await this.client.conversations.history(args);
        const hit = res.messages?.find(match);
        if (hit?.ts) return hit;
        cursor = res.response_metadata?.next_cursor || undefined;
        if (!cursor) return undefined;
      }
      return undefined;
    } catch (e) {
      const code = (e as { data?: { error?: string } }).data?.error;
      if (!CANNOT_READ_HISTORY.has(code ?? '')) throw e;
      if (!this.warnedNoHistory) {
        this.warnedNoHistory = true;
        this.opts.log?.warn(
          `Slack: cannot look for a post an interrupted attempt may have made (${code}), so a retry may post it twice; add the channels:history and groups:history scopes (manifest.yml), reinstall the app, and invite it to the channel`,
          { channel, err: coerceError(e) },
        );
      }
      return undefined;
    }
  }

  async postBatch(header: BatchHeaderModel, cards: CardModel[], progress: PostBatchProgress = {}): Promise<PostedBatch> {
    const channel = header.channel || this.opts.defaultChannel;
    const since = progress.since;
    // Parts go out in order: once one is not found, the earlier attempt posted nothing after it.
    let retry = progress.retry ?? false;
    let parent = progress.parent;
    if (!parent) {
      const posted = await this.post(channel, batchHeaderMessage(header), { key: postKeys.batch(header.batchId), retry, since });
      retry &&= posted.found;
      parent = { channel, id: posted.ts };
      await progress.onPosted?.({ parent });
    }
    const refs: Record<number, ChatRef> = {};
    for (const pack of packCards(cards)) {
      const key = postKeys.cards(header.batchId, pack[0]!.messageId);
      const { ts, found } = await this.post(parent.channel, { ...cardsMessage(pack), thread_ts: parent.id }, { key, retry, since });
      retry &&= found;
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

  async postInThread(parent: ChatRef, message: ChatMessage, post?: PostKey): Promise<ChatRef> {
    const { ts } = await this.post(parent.channel, { ...chatMessageBlocks(message), thread_ts: parent.id }, post);
    await this.attachImage(parent.channel, parent.id, ts, message, post?.retry ?? false);
    return { channel: parent.channel, id: ts, thread: parent.id };
  }

  async postInChannel(channel: string, message: ChatMessage, post?: PostKey): Promise<ChatRef> {
    const { ts } = await this.post(channel, chatMessageBlocks(message), post);
    await this.attachImage(channel, ts, ts, message, post?.retry ?? false);
    return { channel, id: ts };
  }

  async updateMessage(ref: ChatRef, message: ChatMessage): Promise<void> {
    await this.client.chat.update({ channel: ref.channel, ts: ref.id, ...chatMessageBlocks(message) } as never);
  }

  /** The chart of a summary, uploaded into the thread of the message it belongs to. */
  private async attachImage(channel: string, threadTs: string, postTs: string, message: ChatMessage, retry: boolean): Promise<void> {
    if (!message.image) return;
    // An earlier attempt may have got as far as the upload: its file is in the thread, after the post.
    const { filename } = message.image;
    if (retry && (await this.findMessage(channel, threadTs, (m) => Number(m.ts) >= Number(postTs) && (m.files ?? []).some((f) => f.name === filename)))) return;
    await this.client.files.uploadV2({
      channel_id: channel,
      thread_ts: threadTs,
      file: Buffer.from(message.image.base64, 'base64'),
      filename: message.image.filename,
      alt_text: message.image.alt,
    } as never);
  }
}
