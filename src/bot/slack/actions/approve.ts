import type { App } from '@slack/bolt';
import { approveMessage } from '../../approvals.ts';
import { ACTION_IDS } from '../blocks.ts';
import { clickPlace, slackActor, tellUser, type SlackDeps } from '../deps.ts';

/** Approve on a card: the card re-renders through the outbox; a late or refused click gets an ephemeral why. */
export function registerApprove(app: App, deps: SlackDeps): void {
  app.action(ACTION_IDS.approve, async ({ ack, body, action, client }) => {
    await ack();
    const actor = slackActor(deps, body.user);
    const r = await approveMessage(deps.ctx, actor, Number((action as { value?: string }).value));
    if (!r.ok) await tellUser(client, clickPlace(body), body.user.id, [r.message, ...(r.errors ?? [])].join('\n• '));
  });
}
