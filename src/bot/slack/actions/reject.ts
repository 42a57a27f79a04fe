import type { App } from '@slack/bolt';
import { rejectMessage } from '../../approvals.ts';
import { ACTION_IDS } from '../blocks.ts';
import { clickedCard, clickPlace, slackActor, tellUser, type SlackDeps } from '../deps.ts';

/** Reject on a card: rejects the version the card showed, like Approve. */
export function registerReject(app: App, deps: SlackDeps): void {
  app.action(ACTION_IDS.reject, async ({ ack, body, action, client }) => {
    await ack();
    const card = await clickedCard(client, body, action);
    if (!card) return;
    const r = await rejectMessage(deps.ctx, slackActor(deps, body.user), card.messageId, card.version);
    if (!r.ok) await tellUser(client, clickPlace(body), body.user.id, r.message);
  });
}
