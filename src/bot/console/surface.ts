/**
 * The console as a ChatSurface: what Slack and Discord post as chat messages, the console
 * stores as console_posts rows (the browser renders them from the JSON API) and
 * announces to open browsers. Called by the chat outbox worker like every other surface.
 */
import type { AppContext } from '../../context.ts';
import { AppError } from '../../errors.ts';
import { SENT_STATUSES } from '../../domain/messageStatus.ts';
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
import type { ConsoleEvents } from './events.ts';
import { insertPosts, updatePostModel, type ConsolePost, type ConsolePostKind, type NewPost } from './queries.ts';

/** The console's one channel (what defaultSurface() gives new campaigns). */
export const CONSOLE_CHANNEL = 'console';

export class ConsoleSurface implements ChatSurface {
  readonly name = 'console' as const;

  constructor(
    private readonly ctx: AppContext,
    private readonly events: ConsoleEvents,
  ) {}

  async postBatch(header: BatchHeaderModel, cards: CardModel[], progress?: PostBatchProgress): Promise<PostedBatch> {
    const now = this.ctx.clock.now();
    const channel = header.channel || CONSOLE_CHANNEL;
    // One transaction: the parent (unless an interrupted earlier attempt posted it) and its
    // cards, each keyed by its batch and message as on the other surfaces (see PostKey).
    const { parent, cardPosts } = await this.ctx.db.tx(async (c) => {
      const parent = progress?.parent
        ? undefined
        : (await insertPosts(c, [{ channel, threadId: null, kind: 'batch', model: header, key: postKeys.batch(header.batchId) }], now))[0]!;
      const threadId = parent ? parent.post.id : postId(progress!.parent!);
      const cardPosts = await insertPosts(
        c,
        cards.map((card) => ({ channel, threadId, kind: 'card' as const, model: card, key: postKeys.cards(header.batchId, card.messageId) })),
        now,
      );
      return { parent, cardPosts };
    });
    const posted: PostedBatch = {
      parent: parent ? refOf(parent.post) : progress!.parent!,
      cards: Object.fromEntries(cards.map((card, i) => [card.messageId, refOf(cardPosts[i]!.post)])),
    };
    await progress?.onPosted?.(parent ? posted : { cards: posted.cards });
    if (parent?.created) this.events.publish({ type: 'post', post: { ...parent.post, replyCount: cardPosts.length } });
    for (const { post, created } of cardPosts) if (created) this.events.publish({ type: 'post', post });
    return posted;
  }

  async updateCard(ref: ChatRef, card: CardModel): Promise<void> {
    await this.update(ref, 'card', card);
    // A card turning "sent" means the outbox provider just handed a text to a phone.
    if (SENT_STATUSES.includes(card.status)) this.events.publish({ type: 'phones' });
  }

  async updateBatchHeader(ref: ChatRef, header: BatchHeaderModel): Promise<void> {
    await this.update(ref, 'batch', header);
  }

  async postInThread(parent: ChatRef, message: ChatMessage, named?: PostKey): Promise<ChatRef> {
    const { post, created } = await this.store({ channel: parent.channel, threadId: postId(parent), kind: 'message', model: message, key: named?.key ?? null });
    if (created) this.events.publish({ type: 'post', post });
    return refOf(post);
  }

  async postInChannel(channel: string, message: ChatMessage, named?: PostKey): Promise<ChatRef> {
    const { post, created } = await this.store({ channel, threadId: null, kind: 'message', model: message, key: named?.key ?? null });
    if (created) this.events.publish({ type: 'post', post: { ...post, replyCount: 0 } });
    return refOf(post);
  }

  private async store(post: NewPost): Promise<{ post: ConsolePost; created: boolean }> {
    return (await insertPosts(this.ctx.db.pool, [post], this.ctx.clock.now()))[0]!;
  }

  async updateMessage(ref: ChatRef, message: ChatMessage): Promise<void> {
    await this.update(ref, 'message', message);
  }

  private async update(ref: ChatRef, kind: ConsolePostKind, model: unknown): Promise<void> {
    const post = await updatePostModel(this.ctx.db.pool, postId(ref), kind, model, this.ctx.clock.now());
    if (!post) {
      throw new AppError(
        'console_post_missing',
        `The console has no ${kind} post ${ref.id} to update (was the console's database replaced?).`,
      );
    }
    this.events.publish({ type: 'update', post });
  }
}

function refOf(post: ConsolePost): ChatRef {
  const ref: ChatRef = { channel: post.channel, id: String(post.id) };
  if (post.threadId !== null) ref.thread = String(post.threadId);
  return ref;
}

function postId(ref: ChatRef): number {
  const id = Number(ref.id);
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw new AppError('console_ref_invalid', `"${ref.id}" is not a console post id.`);
  }
  return id;
}
