import type { App } from '@slack/bolt';
import { analyzeSms } from '../../../domain/smsSegments.ts';
import { validateEdit } from '../../approvals.ts';
import { loadCard } from '../../cards.ts';
import { ACTION_IDS, EDIT_BLOCK_ID, editModal, type EditModalState } from '../blocks.ts';
import { clickedCard, clickPlace, slackActor, tellUser, type SlackDeps } from '../deps.ts';

/**
 * Edit on a card opens the modal at once (the trigger_id lives 3 seconds), with the current
 * text and its version: what the editor sees is what the save is fenced on, even when the
 * card clicked was a version behind.
 */
export function registerEdit(app: App, deps: SlackDeps): void {
  app.action(ACTION_IDS.edit, async ({ ack, body, action, client }) => {
    await ack();
    const actor = slackActor(deps, body.user);
    const place = clickPlace(body);
    if (!actor.isApprover) {
      await tellUser(client, place, body.user.id, `Sorry ${actor.name}, only approvers can edit these messages.`);
      return;
    }
    const clicked = await clickedCard(client, body, action);
    if (!clicked) return;
    const card = await loadCard(deps.ctx.db.pool, deps.ctx, clicked.messageId);
    if (!card.actions.includes('edit')) {
      await tellUser(client, place, body.user.id, `This message is ${card.status.replace('_', ' ')}; its text can no longer be edited.`);
      return;
    }
    const sms = analyzeSms(card.body);
    const state: EditModalState = { messageId: card.messageId, version: card.version, channel: place.channel ?? '', ...(place.thread ? { thread: place.thread } : {}) };
    await client.views.open({
      trigger_id: (body as { trigger_id: string }).trigger_id,
      view: editModal(card, state, { segments: sms.segments, encoding: sms.encoding, lint: card.lint, chars: card.body.length }),
    });
  });

  // Typing in the modal: refresh encoding, segments and lint under the text.
  app.action(ACTION_IDS.editText, async ({ ack, body, client }) => {
    await ack();
    const view = (body as { view?: { id: string; hash: string; private_metadata: string; state: { values: Record<string, Record<string, { value?: string | null }>> } } }).view;
    if (!view) return;
    const state = JSON.parse(view.private_metadata) as EditModalState;
    const text = view.state.values[EDIT_BLOCK_ID]?.[ACTION_IDS.editText]?.value ?? '';
    const check = await validateEdit(deps.ctx, state.messageId, text);
    const card = await loadCard(deps.ctx.db.pool, deps.ctx, state.messageId);
    await client.views.update({ view_id: view.id, hash: view.hash, view: editModal(card, state, { ...check.info, chars: text.length }, text) });
  });
}
