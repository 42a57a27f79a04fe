/**
 * CardModel / BatchHeaderModel / ChatMessage -> Discord message bodies (embeds + buttons).
 * Pure: no I/O. Buttons carry routing ids (`approve:<messageId>:<version>`,
 * `approve_all:<batchId>:<editsThrough>`, the confirmations `confirm:...` and
 * `review_approve:...`) so a click is understood after a restart without any in-memory
 * state, and says which text it was on (a decision on an out-of-date card is refused: see
 * approvals.ts).
 *
 * Discord's limits shape the layout: at most 10 embeds, 5 action rows of 5 buttons and
 * 6000 embed characters per message. A card is one embed plus one row (Approve / Edit /
 * Reject), so a message holds up to 5 cards, fewer when long texts would pass 6000.
 */
import {
  ButtonStyle,
  ComponentType,
  escapeMarkdown,
  type APIActionRowComponent,
  type APIButtonComponent,
  type APIEmbed,
  type RESTPostAPIChannelMessageJSONBody,
} from 'discord.js';
import type { BatchAction, BatchHeaderModel, CardAction, CardModel, ChatMessage } from '../chatSurface.ts';
import type { LintFinding } from '../../domain/lintFinding.ts';
import type { MessageStatus } from '../../domain/messageStatus.ts';
import { MESSAGE_STATUSES } from '../../domain/messageStatus.ts';

/**
 * Stored text (customers' names and replies, SMS bodies, reasons) as Discord shows it: every
 * markdown construct escaped, masked links, headings and lists included (discord.js leaves
 * those out by default), so "[Refund](https://evil.example)" cannot hide a link.
 */
export function plain(text: string): string {
  // Every "[" escaped after the rest (escapeMarkdown doubles backslashes, so none of ours is
  // cancelled): its masked-link escape covers the first "[" of a line only ("[VIP] [Refund](url)").
  return escapeMarkdown(text, { heading: true, bulletedList: true, numberedList: true }).replace(/\[/g, '\\[');
}

export const LIMITS = {
  embedsPerMessage: 10,
  rowsPerMessage: 5,
  buttonsPerRow: 5,
  embedCharsPerMessage: 6000,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  customId: 100,
  buttonLabel: 80,
  content: 2000,
} as const;

/** Cards per chat message: one embed and one action row each. */
export const CARDS_PER_MESSAGE = 5;
/** The longest SMS an edit may produce (the modal's text input max length). */
export const EDIT_MAX_LENGTH = 1600;

/** A message body plus the files uploaded with it (multipart). */
export interface DiscordMessage {
  body: RESTPostAPIChannelMessageJSONBody;
  files?: { name: string; data: Buffer; contentType: string }[];
}

/**
 * A button's route. `version` is the card's version when it was rendered, `editsThrough`
 * the header's mark of the edits it had seen (BatchHeaderModel.editsThrough); both are null
 * when parsed from a button rendered before they were carried (a decision then is refused,
 * or, for Approve all, counts no edit as seen).
 */
export type ButtonRoute =
  | { action: CardAction; messageId: number; version: number | null }
  | { action: BatchAction; batchId: number; editsThrough: string | null };

const CARD_ACTIONS: readonly CardAction[] = ['approve', 'edit', 'reject'];
const BATCH_ACTIONS: readonly BatchAction[] = ['approve_all', 'reject_all'];

/**
 * `approve:42:3`, `approve_all:7:1763920800123456`, `reject_all:7`: the button's routing id
 * (at most 49 characters: Discord allows 100).
 */
export function buttonId(route: ButtonRoute): string {
  if ('messageId' in route) return route.version === null ? `${route.action}:${route.messageId}` : `${route.action}:${route.messageId}:${route.version}`;
  return route.action === 'approve_all' && route.editsThrough !== null ? `${route.action}:${route.batchId}:${route.editsThrough}` : `${route.action}:${route.batchId}`;
}

/** Parses a routing id back; undefined for anything we did not produce. */
export function parseButtonId(customId: string): ButtonRoute | undefined {
  const m = /^([a-z_]+):(\d{1,15})(?::(\d{1,20}))?$/.exec(customId);
  if (!m) return undefined;
  const id = Number(m[2]);
  if ((CARD_ACTIONS as readonly string[]).includes(m[1]!)) {
    if (m[3] !== undefined && m[3].length > 9) return undefined;
    return { action: m[1] as CardAction, messageId: id, version: m[3] === undefined ? null : Number(m[3]) };
  }
  if ((BATCH_ACTIONS as readonly string[]).includes(m[1]!)) return { action: m[1] as BatchAction, batchId: id, editsThrough: m[3] ?? null };
  return undefined;
}

/**
 * The button that confirms a bulk action: `confirm:approve_all:<batchId>[:<editsThrough>]`
 * (Slack asks the same in a dialog). The mark is the one of the header clicked, passed on.
 */
export function bulkConfirmId(action: BatchAction, batchId: number, editsThrough: string | null = null): string {
  return action === 'approve_all' && editsThrough !== null ? `confirm:${action}:${batchId}:${editsThrough}` : `confirm:${action}:${batchId}`;
}

export function parseBulkConfirmId(customId: string): { action: BatchAction; batchId: number; editsThrough: string | null } | undefined {
  const m = /^confirm:(approve_all|reject_all):(\d{1,15})(?::(\d{1,20}))?$/.exec(customId);
  return m ? { action: m[1] as BatchAction, batchId: Number(m[2]), editsThrough: m[3] ?? null } : undefined;
}

/**
 * The button that confirms approving a message back in review: `review_approve:<id>:<version>`,
 * the version of the card the question was asked from (Slack asks the same in a dialog).
 */
export function reviewApproveId(messageId: number, version: number): string {
  return `review_approve:${messageId}:${version}`;
}

export function parseReviewApproveId(customId: string): { messageId: number; version: number } | undefined {
  const m = /^review_approve:(\d{1,15}):(\d{1,9})$/.exec(customId);
  return m ? { messageId: Number(m[1]), version: Number(m[2]) } : undefined;
}

/** A confirmation button runs this `/campaign` text: `run:<command>` (none when it would pass 100 characters). */
export function confirmButtonId(command: string): string | undefined {
  const id = `run:${command}`;
  return id.length <= LIMITS.customId ? id : undefined;
}

export function parseConfirmButtonId(customId: string): string | undefined {
  return customId.startsWith('run:') ? customId.slice(4) : undefined;
}

/** The edit modal's id: `edit_modal:<messageId>:<version>`, the version of the text it opened with. */
export function editModalId(messageId: number, version: number): string {
  return `edit_modal:${messageId}:${version}`;
}

/** The modal's message and version; version null for a modal opened before versions were carried (its save is refused). */
export function parseEditModalId(customId: string): { messageId: number; version: number | null } | undefined {
  const m = /^edit_modal:(\d{1,15})(?::(\d{1,9}))?$/.exec(customId);
  return m ? { messageId: Number(m[1]), version: m[2] === undefined ? null : Number(m[2]) } : undefined;
}

/** The text input inside the edit modal. */
export const EDIT_INPUT_ID = 'body';

const STATUS_COLOR: Record<MessageStatus, number> = {
  suggested: 0x5865f2,
  approved: 0x57f287,
  rejected: 0x99aab5,
  sending: 0x3ba55c,
  sent: 0x3ba55c,
  delivered: 0x2d7d46,
  undelivered: 0xed4245,
  failed: 0xed4245,
  unknown: 0xfee75c,
  cancelled: 0x99aab5,
  needs_review: 0xfee75c,
};

const TONE_COLOR: Record<NonNullable<ChatMessage['tone']>, number> = {
  info: 0x5865f2,
  success: 0x57f287,
  warning: 0xfee75c,
  alert: 0xed4245,
};

const SEVERITY_ICON: Record<LintFinding['severity'], string> = { error: '⛔', warning: '⚠️', info: 'ℹ️' };

type ActionStyle = ButtonStyle.Success | ButtonStyle.Secondary | ButtonStyle.Danger;

const BUTTON: Record<CardAction | BatchAction, { label: string; style: ActionStyle }> = {
  approve: { label: 'Approve', style: ButtonStyle.Success },
  edit: { label: 'Edit', style: ButtonStyle.Secondary },
  reject: { label: 'Reject', style: ButtonStyle.Danger },
  approve_all: { label: 'Approve all', style: ButtonStyle.Success },
  reject_all: { label: 'Reject all', style: ButtonStyle.Danger },
};

function clip(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 1) + '…';
}

/** "needs_review" -> "Needs review". */
export function statusLabel(s: MessageStatus): string {
  const t = s.replace(/_/g, ' ');
  return t[0]!.toUpperCase() + t.slice(1);
}

export function formatUsd(n: number): string {
  return `$${n.toFixed(n >= 1 ? 2 : 4)}`;
}

export function lintLine(f: LintFinding): string {
  return `${SEVERITY_ICON[f.severity]} ${f.message}`;
}

function field(name: string, value: string, inline = false): NonNullable<APIEmbed['fields']>[number] {
  return { name: clip(name, LIMITS.fieldName), value: clip(value || '—', LIMITS.fieldValue), inline };
}

/** One card as an embed. `slot` (1-based) ties the embed to its button row in a packed message. */
export function cardEmbed(card: CardModel, slot: number): APIEmbed {
  const fields = card.context.slice(0, LIMITS.fields - 5).map((c) => field(c.label, plain(c.value), true));
  fields.push(field('SMS', `${card.segments} segment${card.segments === 1 ? '' : 's'} · ${card.encoding} · ${formatUsd(card.estimatedCostUsd)}`, true));
  if (card.rationale) fields.push(field('Why', plain(card.rationale)));
  if (card.lint.length) fields.push(field('Lint', card.lint.map(lintLine).join('\n')));
  fields.push(field('Status', plain(card.statusLine ?? statusLabel(card.status)) + (card.statusHint ? `\n${plain(card.statusHint)}` : '')));
  return {
    title: clip(`#${slot} · ${plain(card.customerName)} · ${plain(card.maskedPhone)}`, LIMITS.title),
    description: clip(plain(card.body), LIMITS.description),
    color: STATUS_COLOR[card.status],
    fields,
    footer: { text: clip(`${card.campaignName} · message ${card.messageId} · v${card.version}`, LIMITS.footer) },
  };
}

/** The card's buttons as one row, or none when the card offers no action any more. */
export function cardRow(card: CardModel, slot: number): APIActionRowComponent<APIButtonComponent> | undefined {
  const actions = CARD_ACTIONS.filter((a) => card.actions.includes(a));
  if (!actions.length) return undefined;
  return {
    type: ComponentType.ActionRow,
    components: actions.map((a) => ({
      type: ComponentType.Button,
      style: BUTTON[a].style,
      label: clip(`${BUTTON[a].label} #${slot}`, LIMITS.buttonLabel),
      custom_id: buttonId({ action: a, messageId: card.messageId, version: card.version }),
    })),
  };
}

/** Discord's count towards the 6000-character limit: title, description, field names and values, footer, author. */
export function embedLength(e: APIEmbed): number {
  return (
    (e.title?.length ?? 0) +
    (e.description?.length ?? 0) +
    (e.fields ?? []).reduce((n, f) => n + f.name.length + f.value.length, 0) +
    (e.footer?.text.length ?? 0) +
    (e.author?.name.length ?? 0)
  );
}

/** Several cards in one chat message (embeds in order, one button row per card that still has actions). */
export function cardsMessage(cards: readonly CardModel[]): DiscordMessage {
  if (cards.length > CARDS_PER_MESSAGE) throw new Error(`a Discord message holds at most ${CARDS_PER_MESSAGE} cards`);
  const rows = cards.map((c, i) => cardRow(c, i + 1)).filter((r) => r !== undefined);
  return {
    body: {
      embeds: cards.map((c, i) => cardEmbed(c, i + 1)),
      components: rows,
      allowed_mentions: { parse: [] },
    },
  };
}

/**
 * Splits cards into chat messages: at most CARDS_PER_MESSAGE each, and never more than
 * 6000 embed characters in one message (a long text moves to the next message).
 */
export function packCards(cards: readonly CardModel[]): CardModel[][] {
  const out: CardModel[][] = [];
  let current: CardModel[] = [];
  let chars = 0;
  for (const card of cards) {
    const len = embedLength(cardEmbed(card, current.length + 1));
    if (current.length && (current.length >= CARDS_PER_MESSAGE || chars + len > LIMITS.embedCharsPerMessage)) {
      out.push(current);
      current = [];
      chars = 0;
    }
    current.push(card);
    chars += len;
  }
  if (current.length) out.push(current);
  return out;
}

function countsLine(counts: BatchHeaderModel['counts']): string {
  const parts = MESSAGE_STATUSES.filter((s) => counts[s]).map((s) => `${statusLabel(s)} ${counts[s]}`);
  return parts.length ? parts.join(' · ') : 'No messages';
}

/** The batch's parent message: facts plus Approve all / Reject all. */
export function batchHeaderMessage(h: BatchHeaderModel): DiscordMessage {
  const actions = BATCH_ACTIONS.filter((a) => h.actions.includes(a));
  return {
    body: {
      embeds: [
        {
          title: clip(`Batch ${h.batchId} · ${plain(h.campaignName)}`, LIMITS.title),
          description: clip(
            `${h.suggestionCount} suggested SMS for segment \`${h.segmentSpec}\` (generator: ${h.generator}). Review each card in the thread below.`,
            LIMITS.description,
          ),
          color: TONE_COLOR.info,
          fields: [
            field('Suggestions', String(h.suggestionCount), true),
            field('Lint findings', String(h.lintFindingCount), true),
            field('Estimated cost', formatUsd(h.estimatedCostUsd), true),
            field('Sending window', h.sendingWindow),
            field('Status', countsLine(h.counts)),
          ],
          footer: { text: `batch ${h.batchId}` },
        },
      ],
      components: actions.length
        ? [
            {
              type: ComponentType.ActionRow,
              components: actions.map((a) => ({
                type: ComponentType.Button,
                style: BUTTON[a].style,
                label: BUTTON[a].label,
                custom_id: buttonId({ action: a, batchId: h.batchId, editsThrough: h.editsThrough }),
              })),
            },
          ]
        : [],
      allowed_mentions: { parse: [] },
    },
  };
}

/** The thread's name for a batch (Discord allows 100 characters). */
export function threadName(h: BatchHeaderModel): string {
  return clip(`${h.campaignName} · batch ${h.batchId}`, 100);
}

/**
 * A plain post (progress, reply, opt-out, alert, summary), with its PNG attached when it has
 * one. Its text is plain text that carries customers' names and replies: escaped, so a name
 * written as a masked link or bold renders as typed (cards escape the same fields).
 */
export function chatMessage(m: ChatMessage): DiscordMessage {
  const embed: APIEmbed = {
    description: clip(plain(m.text) || ' ', LIMITS.description),
    color: TONE_COLOR[m.tone ?? 'info'],
  };
  if (m.title) embed.title = clip(plain(m.title), LIMITS.title);
  if (m.fields?.length) embed.fields = m.fields.slice(0, LIMITS.fields).map((f) => field(plain(f.label), plain(f.value), true));
  const out: DiscordMessage = { body: { embeds: [embed], allowed_mentions: { parse: [] } } };
  if (m.image) {
    const name = m.image.filename.replace(/[^\w.-]/g, '_');
    embed.image = { url: `attachment://${name}` };
    out.body.attachments = [{ id: '0', filename: name, description: clip(m.image.alt, 1024) }];
    out.files = [{ name, data: Buffer.from(m.image.base64, 'base64'), contentType: 'image/png' }];
  }
  return out;
}
