/**
 * Button clicks: Approve / Edit / Reject on a card, Approve all / Reject all on a batch,
 * and the confirmation of a `/campaign` command. Each calls the approval core and then
 * shows the result in place: the message the button was on is re-rendered from current
 * state; refusals ("already approved by Dana") go only to the person who clicked.
 */
import { approveAll, approveMessage, rejectAll, rejectMessage } from '../approvals.ts';
import { loadBatchHeader } from '../cards.ts';
import type { CardModel } from '../chatSurface.ts';
import { runCampaignCommand } from '../commands.ts';
import { actorOf, discordMarkdown, type DiscordDeps } from './context.ts';
import { openEditModal } from './modals.ts';
import type { Interaction } from './payload.ts';
import { batchHeaderMessage, cardsMessage, parseButtonId, parseConfirmButtonId } from './render.ts';
import { ephemeral, refusal } from './replies.ts';
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
  const route = parseButtonId(customId);
  if (!route) return ephemeral('This button is not one of ours any more. Use `/campaign help` to see what can be done.');
  if ('batchId' in route) {
    const r = route.action === 'approve_all' ? await approveAll(deps.ctx, actor, route.batchId) : await rejectAll(deps.ctx, actor, route.batchId);
    if (!r.ok) return ephemeral(r.message);
    const header = await loadBatchHeader(deps.ctx.db.pool, deps.ctx, route.batchId);
    return { update: batchHeaderMessage(header), message: { content: discordMarkdown(r.message), ephemeral: true } };
  }
  if (route.action === 'edit') return openEditModal(deps, actor, route.messageId);
  const outcome = route.action === 'approve' ? await approveMessage(deps.ctx, actor, route.messageId) : await rejectMessage(deps.ctx, actor, route.messageId);
  if (!outcome.ok) return refusal(outcome);
  const update = await cardsUpdate(deps, i, outcome.card);
  return update ? { update } : ephemeral(outcome.message);
}
