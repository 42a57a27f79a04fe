/**
 * What every chat surface (Slack, Discord, the local console) does for the rest of the
 * product. The models are platform-agnostic; each surface renders them its own way.
 * Surfaces are called only by the outbox worker (src/bot/outbox.ts) and the interactive
 * handlers, never directly by the scheduler: it enqueues posts (src/db/queries/outbox.ts).
 */
import type { SurfaceName } from '../config.ts';
import type { LintFinding } from '../domain/lintFinding.ts';
import type { MessageStatus } from '../domain/messageStatus.ts';

/** Where a posted chat message lives. `id` is Slack's ts, Discord's message id, the console's id. */
export interface ChatRef {
  channel: string;
  id: string;
  /** The thread it was posted in, if any. */
  thread?: string;
  /**
   * A card's place inside a chat message that carries several cards (Slack packs up to a
   * dozen per message): updating one card re-renders every card of that message.
   */
  position?: number;
}

export type CardAction = 'approve' | 'edit' | 'reject';
export type BatchAction = 'approve_all' | 'reject_all';

/** What one approval card shows and offers. */
export interface CardModel {
  messageId: number;
  /** Changes with every edit and status change: decisions carry it back (a stale one is refused). */
  version: number;
  campaignName: string;
  customerName: string;
  maskedPhone: string;
  body: string;
  status: MessageStatus;
  segments: number;
  encoding: 'GSM-7' | 'UCS-2';
  estimatedCostUsd: number;
  /** Why this customer gets this message: label/value facts, in display order. */
  context: { label: string; value: string }[];
  rationale: string | null;
  lint: LintFinding[];
  /**
   * One line of state under the text, e.g. "Approved by Dana · sends Tue 11/24 2:59 PM"; for
   * a message back in review, why (which may say its SMS could already have gone).
   */
  statusLine: string | null;
  /** What a person can do about that state besides the buttons, e.g. record a message in review as sent. */
  statusHint: string | null;
  actions: CardAction[];
}

/**
 * What Approve on a message back in review asks first, on every surface that asks: why it
 * came back (its SMS may already have gone), then what the click does.
 */
export function approveAgainQuestion(card: Pick<CardModel, 'statusLine'>): { reason: string; consequence: string } {
  return { reason: card.statusLine ?? 'This message needs review.', consequence: 'Approving schedules it to be sent.' };
}

/** What a batch's parent message shows and offers. */
export interface BatchHeaderModel {
  batchId: number;
  campaignName: string;
  /** The campaign's channel on its chat surface (where the batch is posted). */
  channel: string;
  segmentSpec: string;
  generator: string;
  suggestionCount: number;
  lintFindingCount: number;
  estimatedCostUsd: number;
  counts: Partial<Record<MessageStatus, number>>;
  /** e.g. "Mon-Sat 09:00-20:00 America/Los_Angeles" */
  sendingWindow: string;
  /**
   * The latest edit of the batch's messages this header was built after (an opaque mark,
   * digits; '0' when none). Approve all carries it back, and holds back every message
   * edited after it: nobody clicking this header has necessarily seen those texts.
   */
  editsThrough: string;
  actions: BatchAction[];
}

/** A plain post (progress, reply, opt-out, alert, summary): text plus optional facts and image. */
export interface ChatMessage {
  title?: string;
  text: string;
  fields?: { label: string; value: string }[];
  tone?: 'info' | 'success' | 'warning' | 'alert';
  /** A PNG to attach (the daily summary chart). */
  image?: { filename: string; base64: string; alt: string };
}

export interface PostedBatch {
  parent: ChatRef;
  /** Card refs by message id. */
  cards: Record<number, ChatRef>;
}

/**
 * Names a post the same way on every attempt of its delivery. An attempt can land and still
 * not be recorded (the process dies between the platform's accept and the outbox's record,
 * or the answer is lost): a retry then returns the message the earlier attempt posted.
 * Slack looks for the key in the message metadata of the thread or channel, the console in
 * its own table; Discord sends it as the nonce it dedupes by (for a few minutes).
 */
export interface PostKey {
  key: string;
  /** An earlier attempt may have posted it: look before posting (where looking costs a call). */
  retry: boolean;
  /** When the post was asked for: where to start looking (nothing an attempt posted is older). */
  since?: Date;
}

/** The keys of posts every surface and the outbox name alike (see PostKey). */
export const postKeys = {
  /** A batch's parent message. */
  batch: (batchId: number) => `b${batchId}`,
  /** The chat message of a batch that holds `messageId`'s card first (or alone). */
  cards: (batchId: number, messageId: number) => `b${batchId}m${messageId}`,
  /** A batch's one progress message. */
  progress: (batchId: number) => `p${batchId}`,
  /** A thread or channel post of the chat outbox, by its row. */
  row: (kind: 'thread' | 'channel', rowId: number) => `${kind === 'thread' ? 't' : 'c'}${rowId}`,
};

/** Lets the outbox resume a batch post that was interrupted (chat down, restart). */
export interface PostBatchProgress {
  /** An earlier attempt of this delivery may have posted parts it did not record (see PostKey). */
  retry?: boolean;
  /** When the batch's post was asked for (see PostKey). */
  since?: Date;
  /** The parent message, when an earlier attempt already posted it. */
  parent?: ChatRef;
  /** Called after every chat call that posted something, so it is stored before the next one. */
  onPosted?(part: { parent?: ChatRef; cards?: Record<number, ChatRef> }): Promise<void>;
}

export interface ChatSurface {
  readonly name: SurfaceName;
  /**
   * Posts the parent message (unless `progress.parent` is given), then the cards in its
   * thread (packed several per chat message). `cards` are the ones not posted yet.
   */
  postBatch(header: BatchHeaderModel, cards: CardModel[], progress?: PostBatchProgress): Promise<PostedBatch>;
  /**
   * Re-renders one card in place. `packed` = every card sharing the chat message at `ref`
   * (in position order, `card` included), for surfaces that pack cards.
   */
  updateCard(ref: ChatRef, card: CardModel, packed?: CardModel[]): Promise<void>;
  /** Re-renders a batch's parent message in place. */
  updateBatchHeader(ref: ChatRef, header: BatchHeaderModel): Promise<void>;
  /** Posts into the thread under `parent`; `post` names it, so a retry does not post it twice (see PostKey). */
  postInThread(parent: ChatRef, message: ChatMessage, post?: PostKey): Promise<ChatRef>;
  /** Posts at the top level of a channel (`post`: as for postInThread). */
  postInChannel(channel: string, message: ChatMessage, post?: PostKey): Promise<ChatRef>;
  /** Replaces a message posted by postInThread/postInChannel (the progress message). */
  updateMessage(ref: ChatRef, message: ChatMessage): Promise<void>;
}
