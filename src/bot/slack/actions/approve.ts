import type { App } from '@slack/bolt';
import { approveMessage } from '../../approvals.ts';
import { ACTION_IDS } from '../blocks.ts';
import { clickedCard, clickPlace, slackActor, tellUser, type SlackDeps } from '../deps.ts';

/**
 * Approve on a card: approves the version the card showed (the button's value); the card
 * re-renders through the outbox, also after a refusal; a late or refused click gets an
 * ephemeral why.
 */
export function registerApprove(app: App, deps: SlackDeps): void {
  app.action(ACTION_IDS.approve, async ({ ack, body, action, client }) => {
    await ack();
    const actor = slackActor(deps, body.user);
    const card = await clickedCard(client, body, action);
    if (!card) return;
    const r = await approveMessage(deps.ctx, actor, card.messageId, card.version);
    if (!r.ok) await tellUser(client, clickPlace(body), body.user.id, [r.message, ...(r.code !== 'stale' ? (r.errors ?? []) : [])].join('\n• '));
  });
}
