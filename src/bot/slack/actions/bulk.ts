import type { App } from '@slack/bolt';
import { approveAll, rejectAll } from '../../approvals.ts';
import { ACTION_IDS } from '../blocks.ts';
import { clickPlace, slackActor, tellUser, type SlackDeps } from '../deps.ts';

/** Approve all / Reject all on a batch's parent message; the clicker is told the counts. */
export function registerBulk(app: App, deps: SlackDeps): void {
  for (const [id, run] of [
    [ACTION_IDS.approveAll, approveAll],
    [ACTION_IDS.rejectAll, rejectAll],
  ] as const) {
    app.action(id, async ({ ack, body, action, client }) => {
      await ack();
      const r = await run(deps.ctx, slackActor(deps, body.user), Number((action as { value?: string }).value));
      await tellUser(client, clickPlace(body), body.user.id, r.message);
    });
  }
}
