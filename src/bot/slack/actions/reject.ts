import type { App } from '@slack/bolt';
import { rejectMessage } from '../../approvals.ts';
import { ACTION_IDS } from '../blocks.ts';
import { clickPlace, slackActor, tellUser, type SlackDeps } from '../deps.ts';

/** Reject on a card. */
export function registerReject(app: App, deps: SlackDeps): void {
  app.action(ACTION_IDS.reject, async ({ ack, body, action, client }) => {
    await ack();
    const r = await rejectMessage(deps.ctx, slackActor(deps, body.user), Number((action as { value?: string }).value));
    if (!r.ok) await tellUser(client, clickPlace(body), body.user.id, r.message);
  });
}
