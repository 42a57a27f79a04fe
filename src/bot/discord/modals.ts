/**
 * Edit: the card's Edit button opens a modal with the current text; submitting it is
 * checked exactly like on Slack (editMessage validates, then saves). Discord modals cannot
 * show an error next to the field, so a refused text comes back as an ephemeral message
 * that lists the problems and repeats the text, ready to paste into a new Edit.
 */
import { ComponentType, TextInputStyle } from 'discord.js';
import { AppError } from '../../errors.ts';
import type { Actor } from '../actor.ts';
import { editMessage } from '../approvals.ts';
import { loadCard } from '../cards.ts';
import { cardsUpdate } from './components.ts';
import { actorOf, type DiscordDeps } from './context.ts';
import { modalValue, type Interaction, type modalDataSchema } from './payload.ts';
import { EDIT_INPUT_ID, EDIT_MAX_LENGTH, editModalId, statusLabel } from './render.ts';
import { ephemeral, refusal } from './replies.ts';
import type { InteractionReply } from './respond.ts';
import type { z } from 'zod';

const MODAL_TITLE_MAX = 45;

/** The Edit button's answer: the modal, prefilled with the current text (or why it cannot open). */
export async function openEditModal(deps: DiscordDeps, actor: Actor, messageId: number): Promise<InteractionReply> {
  if (!actor.isApprover) return ephemeral(`Sorry ${actor.name}, only approvers can edit these messages.`);
  let card;
  try {
    card = await loadCard(deps.ctx.db.pool, deps.ctx, messageId);
  } catch (e) {
    if (e instanceof AppError && e.code === 'not_found') return ephemeral('That message no longer exists.');
    throw e;
  }
  if (!card.actions.includes('edit')) {
    return ephemeral(`This message is ${statusLabel(card.status).toLowerCase()}; its text can no longer be edited.`);
  }
  const title = `Edit SMS to ${card.customerName}`;
  return {
    modal: {
      custom_id: editModalId(messageId, card.version),
      title: title.length <= MODAL_TITLE_MAX ? title : title.slice(0, MODAL_TITLE_MAX - 1) + '…',
      components: [
        {
          type: ComponentType.Label,
          label: 'Message',
          description: `What the customer receives (at most ${EDIT_MAX_LENGTH} characters).`,
          component: {
            type: ComponentType.TextInput,
            custom_id: EDIT_INPUT_ID,
            style: TextInputStyle.Paragraph,
            value: card.body.slice(0, EDIT_MAX_LENGTH),
            min_length: 1,
            max_length: EDIT_MAX_LENGTH,
            required: true,
          },
        },
      ],
    },
  };
}

/** Why an edit was not saved, with the text repeated to paste into a new Edit (Discord forms cannot show errors next to the field). */
function notSaved(reasons: string[], text: string): InteractionReply {
  return ephemeral(
    [
      'Your edit was not saved:',
      ...reasons.map((e) => `• ${e}`),
      'Discord forms cannot show errors next to the field, so here is your text to fix and paste into a new Edit:',
      '```',
      text.replace(/```/g, "'''"),
      '```',
    ].join('\n'),
  );
}

/**
 * A submitted edit: refused with the reasons (ephemeral), or saved and the card re-rendered
 * in place. The save is fenced on the version the modal opened with (its custom id): when
 * someone changed the message since, it is refused and the card shows the current text.
 */
export async function onEditSubmit(
  deps: DiscordDeps,
  i: Interaction,
  modal: { messageId: number; version: number | null },
  data: z.infer<typeof modalDataSchema>,
): Promise<InteractionReply> {
  const actor = actorOf(i, deps.approverRoleId);
  const text = modalValue(data, EDIT_INPUT_ID);
  if (text === undefined) return ephemeral('The edit form came back without its text field; press Edit again.');
  const outcome = await editMessage(deps.ctx, actor, modal.messageId, text, modal.version);
  if (!outcome.ok && outcome.code === 'invalid') return notSaved(outcome.errors ?? [outcome.message], text);
  if (!outcome.ok && outcome.code === 'stale') {
    const update = await cardsUpdate(deps, i, outcome.card);
    const reply = notSaved([outcome.message], text);
    return update ? { ...reply, update } : reply;
  }
  if (!outcome.ok) return refusal(outcome);
  const update = await cardsUpdate(deps, i, outcome.card);
  return update ? { update } : ephemeral(outcome.message);
}
