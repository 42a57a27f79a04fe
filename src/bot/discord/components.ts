/**
 * Button clicks: Approve / Edit / Reject on a card, Approve all / Reject all on a batch, and
 * the confirmation of a `/campaign` command. Approve all / Reject all, and Approve on a
 * message back in review (approving schedules it to be sent again; the question repeats why
 * it came back), ask first, as on Slack: only the person who clicked sees the question, and
 * the outcome replaces it. Each calls the approval core and shows the result in place: the
 * message the button was on is re-rendered from current state; refusals ("already approved
 * by Dana") go only to the person who clicked. A click on an out-of-date card (its id
 * carries the version it showed) is refused and the card is replaced by the current one.
 */
import { ButtonStyle, ComponentType } from 'discord.js';
import { approveAll, approveMessage, rejectAll, rejectMessage, type ActionOutcome } from '../approvals.ts';
import type { Actor } from '../actor.ts';
import { cardFromRow } from '../cards.ts';
import { approveAgainQuestion, type BatchAction, type CardModel } from '../chatSurface.ts';
import { runCampaignCommand } from '../commands.ts';
import { getCardRow } from '../../db/queries/cardRows.ts';
import { actorOf, discordMarkdown, type DiscordDeps } from './context.ts';
import { openEditModal } from './modals.ts';
import type { Interaction } from './payload.ts';
import {
  bulkConfirmId,
  cardsMessage,
  parseBulkConfirmId,
  parseButtonId,
  parseConfirmButtonId,
  parseReviewApproveId,
  plain,
  reviewApproveId,
} from './render.ts';
import { ephemeral, refusal, refusalText } from './replies.ts';
import type { InteractionReply } from './respond.ts';
import { cardsAtRef } from './surface.ts';
import { commandChannel } from './commands/campaign.ts';

/**
 * The message the card was on, re-rendered with `card` in its place; undefined when this
 * message is not known as a card message (its refs are not stored yet): the outbox
 * re-renders it moments later.
 */
export async function cardsUpdate(deps: DiscordDeps, i: Interaction, card: CardModel): Promise<InteractionReply['update']> {
  if (!i.message) return undefined;
  const cards = await cardsAtRef(deps.ctx, { channel: i.message.channel_id, id: i.message.id });
  if (!cards.some((c) => c.messageId === card.messageId)) return undefined;
  return cardsMessage(cards.map((c) => (c.messageId === card.messageId ? card : c)));
}

/**
 * A refused decision, to the person who acted; when the card was out of date, the message it
 * was on is re-rendered with the current card too.
 */
export async function refusedOnCard(deps: DiscordDeps, i: Interaction, o: Extract<ActionOutcome, { ok: false }>): Promise<InteractionReply> {
  const reply = refusal(o);
  if (o.code !== 'stale') return reply;
  const update = await cardsUpdate(deps, i, o.card);
  return update ? { ...reply, update } : reply;
}

/** Approve all / Reject all ask first, only the person who clicked sees the question. */
function confirmBulk(actor: Actor, action: BatchAction, batchId: number, editsThrough: string | null): InteractionReply {
  if (!actor.isApprover) return ephemeral(`Sorry ${actor.name}, only approvers can act on these messages.`);
  const approve = action === 'approve_all';
  return {
    message: {
      content: approve
        ? `Approve every remaining suggestion of batch #${batchId}? Those with lint errors stay for review; the rest are scheduled.`
        : `Reject every remaining suggestion of batch #${batchId}?`,
      ephemeral: true,
      components: [
        {
          type: ComponentType.ActionRow,
          components: [
            {
              type: ComponentType.Button,
              style: approve ? ButtonStyle.Success : ButtonStyle.Danger,
              label: approve ? 'Approve all' : 'Reject all',
              custom_id: bulkConfirmId(action, batchId, editsThrough),
            },
          ],
        },
      ],
    },
  };
}

/**
 * Approve on a card that shows its message in review as it is now asks first, repeating why it
 * came back (its SMS may already have gone). Decided from the stored message, not from how the
 * card was rendered, so cards posted before this question existed ask too. Undefined when
 * there is nothing to ask: the approval core then decides (and refuses a non-approver or an
 * out-of-date card itself).
 */
async function askBeforeReviewApproval(deps: DiscordDeps, actor: Actor, messageId: number, version: number | null): Promise<InteractionReply | undefined> {
  if (!actor.isApprover || version === null) return undefined;
  const row = await getCardRow(deps.ctx.db.pool, messageId);
  if (row?.status !== 'needs_review' || row.version !== version) return undefined;
  const { reason, consequence } = approveAgainQuestion(cardFromRow(deps.ctx, row));
  return {
    message: {
      // Escaped: the reason quotes stored text (the provider's error, say).
      content: `Approve again? ${plain(reason)} ${consequence}`,
      ephemeral: true,
      components: [
        {
          type: ComponentType.ActionRow,
          components: [{ type: ComponentType.Button, style: ButtonStyle.Success, label: 'Approve', custom_id: reviewApproveId(messageId, version) }],
        },
      ],
    },
  };
}

/** The answer to a question asked above replaces it; the cards and header re-render through the outbox. */
function answerInPlace(text: string): InteractionReply {
  return { update: { body: { content: discordMarkdown(text), embeds: [], components: [] } } };
}

/** Answers one button click (custom ids from render.ts). */
export async function onButton(deps: DiscordDeps, i: Interaction, customId: string): Promise<InteractionReply> {
  const actor = actorOf(i, deps.approverRoleId);
  const command = parseConfirmButtonId(customId);
  if (command !== undefined) {
    const reply = await runCampaignCommand(deps.ctx, actor, { text: command, channel: commandChannel(i) });
    return {
      update: { body: { content: 'Confirmed.', embeds: [], components: [] } },
      message: { content: discordMarkdown(reply.text), ephemeral: reply.visibility === 'ephemeral' },
    };
  }
  const bulk = parseBulkConfirmId(customId);
  if (bulk) {
    const r =
      bulk.action === 'approve_all' ? await approveAll(deps.ctx, actor, bulk.batchId, bulk.editsThrough) : await rejectAll(deps.ctx, actor, bulk.batchId);
    return answerInPlace(r.message);
  }
  const review = parseReviewApproveId(customId);
  if (review) {
    // Still fenced on the version asked about: a change since the question is refused.
    const o = await approveMessage(deps.ctx, actor, review.messageId, review.version);
    return answerInPlace(o.ok ? o.message : refusalText(o));
  }
  const route = parseButtonId(customId);
  if (!route) return ephemeral('This button is not one of ours any more. Use `/campaign help` to see what can be done.');
  if ('batchId' in route) return confirmBulk(actor, route.action, route.batchId, route.editsThrough);
  // The modal opens with the current text, and is fenced on the version of what it shows.
  if (route.action === 'edit') return openEditModal(deps, actor, route.messageId);
  const question = route.action === 'approve' ? await askBeforeReviewApproval(deps, actor, route.messageId, route.version) : undefined;
  if (question) return question;
  const outcome =
    route.action === 'approve'
      ? await approveMessage(deps.ctx, actor, route.messageId, route.version)
      : await rejectMessage(deps.ctx, actor, route.messageId, route.version);
  if (!outcome.ok) return refusedOnCard(deps, i, outcome);
  const update = await cardsUpdate(deps, i, outcome.card);
  return update ? { update } : ephemeral(outcome.message);
}
