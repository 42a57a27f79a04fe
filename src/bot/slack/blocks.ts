/**
 * Card models to Block Kit. Slack caps a message at 50 blocks and a text object at 3,000
 * characters, and posting at about one message per second per channel, so cards are packed
 * several to a message (each card takes at most BLOCKS_PER_CARD blocks) and long texts are
 * cut with a visible marker.
 */
import type { types } from '@slack/bolt';
import type { LintFinding } from '../../domain/lintFinding.ts';
import { approveAgainQuestion, type BatchHeaderModel, type CardModel, type ChatMessage } from '../chatSurface.ts';
import type { CommandReply } from '../commands.ts';

type KnownBlock = types.KnownBlock;
type ModalView = types.ModalView;

export const MAX_BLOCKS_PER_MESSAGE = 50;
export const MAX_TEXT_CHARS = 3000;
/** section + context + actions + divider */
export const BLOCKS_PER_CARD = 4;
/** Keeps one packed message comfortably small for clients (Slack's own ceiling is far higher). */
const MAX_CHARS_PER_MESSAGE = 24_000;

export const ACTION_IDS = {
  approve: 'card_approve',
  edit: 'card_edit',
  reject: 'card_reject',
  approveAll: 'batch_approve_all',
  rejectAll: 'batch_reject_all',
  editText: 'edit_text',
  confirmCommand: 'campaign_confirm',
} as const;
export const EDIT_VIEW_ID = 'card_edit';
export const EDIT_BLOCK_ID = 'body';

/**
 * A card button's value: `<messageId>:<version>`, so a click says which text it was on (a
 * decision on an out-of-date card is refused, see approvals.ts).
 */
export function cardButtonValue(card: Pick<CardModel, 'messageId' | 'version'>): string {
  return `${card.messageId}:${card.version}`;
}

/** A card button's value back; a bare `<messageId>` (a card rendered before versions were carried) has version null. */
export function parseCardButtonValue(value: string | undefined): { messageId: number; version: number | null } | undefined {
  const m = /^(\d{1,15})(?::(\d{1,9}))?$/.exec(value ?? '');
  return m ? { messageId: Number(m[1]), version: m[2] === undefined ? null : Number(m[2]) } : undefined;
}

/** Approve all's value: `<batchId>:<editsThrough>`, the latest edit the header had seen. */
export function approveAllValue(h: Pick<BatchHeaderModel, 'batchId' | 'editsThrough'>): string {
  return `${h.batchId}:${h.editsThrough}`;
}

/** A batch button's value back; a bare `<batchId>` (a header rendered before the mark was carried) has editsThrough null. */
export function parseBatchButtonValue(value: string | undefined): { batchId: number; editsThrough: string | null } | undefined {
  const m = /^(\d{1,15})(?::(\d{1,20}))?$/.exec(value ?? '');
  return m ? { batchId: Number(m[1]), editsThrough: m[2] ?? null } : undefined;
}

/** Slack's mrkdwn control characters. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Cuts `s` to `max` characters, saying so. */
export function clip(s: string, max = MAX_TEXT_CHARS): string {
  return s.length <= max ? s : s.slice(0, max - 14) + '… (shortened)';
}

const mrkdwn = (text: string) => ({ type: 'mrkdwn' as const, text: clip(text) });
const plain = (text: string, max = 75) => ({ type: 'plain_text' as const, text: clip(text, max), emoji: true });

const money = (usd: number) => `$${usd.toFixed(usd < 1 ? 4 : 2)}`;

function lintLine(lint: LintFinding[]): string {
  if (lint.length === 0) return ':white_check_mark: lint clean';
  const icon = { error: ':no_entry:', warning: ':warning:', info: ':information_source:' } as const;
  return lint.map((f) => `${icon[f.severity]} ${esc(f.message)}`).join('  ');
}

/** Slack's ceiling for a confirm dialog's text. */
const CONFIRM_TEXT_CHARS = 300;

/** Approving a message back in review asks first (approveAgainQuestion); a long reason is shortened, never what the click does. */
function reviewConfirm(card: Pick<CardModel, 'statusLine'>) {
  const { reason, consequence } = approveAgainQuestion(card);
  return {
    title: plain('Approve again?', 100),
    text: plain(`${clip(reason, CONFIRM_TEXT_CHARS - consequence.length - 1)} ${consequence}`, CONFIRM_TEXT_CHARS),
    confirm: plain('Approve', 30),
    deny: plain('Back', 30),
  };
}

/** One card: the text, why, lint and state, and its buttons. At most BLOCKS_PER_CARD blocks. */
export function cardBlocks(card: CardModel): KnownBlock[] {
  const id = card.messageId;
  const quoted = esc(clip(card.body, 2400)).split('\n').map((l) => `>${l}`).join('\n');
  const head = `*${esc(card.customerName)}* · ${esc(card.maskedPhone)} · ${card.segments} segment${card.segments === 1 ? '' : 's'} ${card.encoding} · ${money(card.estimatedCostUsd)}`;
  const why = [...card.context.map((f) => `${esc(f.label)}: ${esc(f.value)}`), ...(card.rationale ? [esc(card.rationale)] : [])];
  const context: { type: 'mrkdwn'; text: string }[] = [];
  if (why.length) context.push(mrkdwn(`*Why:* ${why.join(' · ')}`));
  context.push(mrkdwn(lintLine(card.lint)));
  if (card.statusLine) context.push(mrkdwn(`*${esc(card.statusLine)}*`));
  if (card.statusHint) context.push(mrkdwn(esc(card.statusHint)));
  const blocks: KnownBlock[] = [
    { type: 'section', block_id: `card_${id}`, text: mrkdwn(`${head}\n${quoted}`) },
    { type: 'context', block_id: `card_${id}_ctx`, elements: context },
  ];
  if (card.actions.length) {
    blocks.push({
      type: 'actions',
      block_id: `card_${id}_actions`,
      elements: card.actions.map((a) => ({
        type: 'button' as const,
        action_id: ACTION_IDS[a],
        text: plain(a === 'approve' ? 'Approve' : a === 'edit' ? 'Edit' : 'Reject'),
        value: cardButtonValue(card),
        ...(a === 'approve' ? { style: 'primary' as const } : a === 'reject' ? { style: 'danger' as const } : {}),
        ...(a === 'approve' && card.status === 'needs_review' ? { confirm: reviewConfirm(card) } : {}),
      })),
    });
  }
  blocks.push({ type: 'divider', block_id: `card_${id}_end` });
  return blocks;
}

/** The message's top-level `text` (notifications are built from it): escaped like the blocks, so no "<!channel>" in a name pings anyone. */
function cardFallback(card: CardModel): string {
  return esc(`${card.customerName} (${card.maskedPhone}): ${card.body}${card.statusLine ? ` [${card.statusLine}]` : ''}`);
}

/** Splits cards into chat messages within the block and size limits, keeping their order. */
export function packCards(cards: CardModel[]): CardModel[][] {
  const packs: CardModel[][] = [];
  let current: CardModel[] = [];
  let blocks = 0;
  let chars = 0;
  for (const card of cards) {
    const size = JSON.stringify(cardBlocks(card)).length;
    if (current.length && (blocks + BLOCKS_PER_CARD > MAX_BLOCKS_PER_MESSAGE || chars + size > MAX_CHARS_PER_MESSAGE)) {
      packs.push(current);
      current = [];
      blocks = 0;
      chars = 0;
    }
    current.push(card);
    blocks += BLOCKS_PER_CARD;
    chars += size;
  }
  if (current.length) packs.push(current);
  return packs;
}

/** A chat message carrying `cards` (its notification text lists them). */
export function cardsMessage(cards: CardModel[]): { text: string; blocks: KnownBlock[] } {
  return { text: clip(cards.map(cardFallback).join('\n'), 3000), blocks: cards.flatMap(cardBlocks) };
}

function countsLine(counts: BatchHeaderModel['counts']): string {
  const order = ['suggested', 'approved', 'rejected', 'sending', 'sent', 'delivered', 'failed', 'cancelled', 'needs_review'] as const;
  const parts = order.filter((s) => counts[s]).map((s) => `${counts[s]} ${s.replace('_', ' ')}`);
  return parts.length ? parts.join(' · ') : 'nothing yet';
}

/** The batch's parent message: what it is, what it costs, when it sends, and the bulk buttons. */
export function batchHeaderMessage(h: BatchHeaderModel): { text: string; blocks: KnownBlock[] } {
  const blocks: KnownBlock[] = [
    { type: 'header', block_id: 'batch_title', text: plain(`${h.campaignName} · batch #${h.batchId}`, 150) },
    {
      type: 'section',
      block_id: 'batch_facts',
      fields: [
        mrkdwn(`*Segment*\n${esc(h.segmentSpec)}`),
        mrkdwn(`*Suggestions*\n${h.suggestionCount} (${esc(h.generator)})`),
        mrkdwn(`*Lint findings*\n${h.lintFindingCount}`),
        mrkdwn(`*Estimated cost*\n${money(h.estimatedCostUsd)}`),
        mrkdwn(`*Sending window*\n${esc(h.sendingWindow)}`),
        mrkdwn(`*Status*\n${countsLine(h.counts)}`),
      ],
    },
    { type: 'context', block_id: 'batch_hint', elements: [mrkdwn('Review each message in the thread: Approve, Edit or Reject.')] },
  ];
  if (h.actions.length) {
    blocks.push({
      type: 'actions',
      block_id: 'batch_actions',
      elements: h.actions.map((a) => {
        const all = a === 'approve_all';
        return {
          type: 'button' as const,
          action_id: all ? ACTION_IDS.approveAll : ACTION_IDS.rejectAll,
          text: plain(all ? 'Approve all' : 'Reject all'),
          value: all ? approveAllValue(h) : String(h.batchId),
          style: all ? ('primary' as const) : ('danger' as const),
          confirm: {
            title: plain(all ? 'Approve all?' : 'Reject all?', 100),
            text: plain(
              all
                ? 'Approves every remaining suggestion of this batch (those with lint errors, or edited after this was shown, stay for review) and schedules them.'
                : 'Rejects every remaining suggestion of this batch.',
              300,
            ),
            confirm: plain(all ? 'Approve all' : 'Reject all', 30),
            deny: plain('Back', 30),
          },
        };
      }),
    });
  }
  const text = esc(`${h.campaignName} batch #${h.batchId}: ${h.suggestionCount} suggestions for ${h.segmentSpec}, ${h.lintFindingCount} lint findings, est. ${money(h.estimatedCostUsd)}, sends ${h.sendingWindow}`);
  return { text, blocks };
}

/** A plain post (progress, reply, alert, summary). */
export function chatMessageBlocks(m: ChatMessage): { text: string; blocks: KnownBlock[] } {
  const icon = { info: ':information_source:', success: ':white_check_mark:', warning: ':warning:', alert: ':rotating_light:' } as const;
  const title = m.title ? `${m.tone ? icon[m.tone] + ' ' : ''}*${esc(m.title)}*\n` : m.tone ? `${icon[m.tone]} ` : '';
  const blocks: KnownBlock[] = [{ type: 'section', text: mrkdwn(`${title}${esc(m.text)}`) }];
  const fields = (m.fields ?? []).slice(0, 10);
  if (fields.length) blocks.push({ type: 'section', fields: fields.map((f) => mrkdwn(`*${esc(f.label)}*\n${esc(f.value)}`)) });
  return { text: clip(esc(`${m.title ? m.title + ': ' : ''}${m.text}`)), blocks };
}

/** A /campaign reply; a confirmation gets a button that runs the confirmed command. */
export function commandReplyMessage(r: CommandReply): { text: string; blocks?: KnownBlock[]; response_type: 'ephemeral' | 'in_channel' } {
  const response_type = r.visibility === 'channel' ? ('in_channel' as const) : ('ephemeral' as const);
  if (!r.confirm) return { text: clip(esc(r.text), 3900), response_type };
  return {
    text: clip(esc(r.text), 3000),
    response_type,
    blocks: [
      { type: 'section', text: mrkdwn(esc(r.text)) },
      {
        type: 'actions',
        elements: [
          { type: 'button', action_id: ACTION_IDS.confirmCommand, style: 'danger', text: plain(r.confirm.prompt), value: r.confirm.command.slice(0, 2000) },
        ],
      },
    ],
  };
}

export interface EditModalState {
  messageId: number;
  version: number;
  channel: string;
  thread?: string;
}

/** The edit modal: the text prefilled, with its encoding, segments and lint shown live. */
export function editModal(
  card: CardModel,
  state: EditModalState,
  info: { segments: number; encoding: string; lint: LintFinding[]; chars: number },
  text = card.body,
): ModalView {
  return {
    type: 'modal',
    callback_id: EDIT_VIEW_ID,
    private_metadata: JSON.stringify(state),
    title: plain('Edit message', 24),
    submit: plain('Save', 24),
    close: plain('Cancel', 24),
    blocks: [
      { type: 'context', elements: [mrkdwn(`*${esc(card.customerName)}* · ${esc(card.maskedPhone)} · ${esc(card.campaignName)}`)] },
      {
        type: 'input',
        block_id: EDIT_BLOCK_ID,
        dispatch_action: true,
        label: plain('Message text', 2000),
        element: {
          type: 'plain_text_input',
          action_id: ACTION_IDS.editText,
          multiline: true,
          max_length: 1600,
          initial_value: text,
          dispatch_action_config: { trigger_actions_on: ['on_character_entered'] },
        },
      },
      {
        type: 'context',
        block_id: 'edit_info',
        elements: [mrkdwn(`${info.encoding} · ${info.segments} segment${info.segments === 1 ? '' : 's'} · ${info.chars} characters`), mrkdwn(lintLine(info.lint))],
      },
    ],
  };
}
