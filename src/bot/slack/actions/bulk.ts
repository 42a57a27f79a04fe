import type { App } from '@slack/bolt';
import { approveAll, rejectAll } from '../../approvals.ts';
import { ACTION_IDS, parseBatchButtonValue } from '../blocks.ts';
import { clickPlace, slackActor, tellUser, type SlackDeps } from '../deps.ts';

/**
 * Approve all / Reject all on a batch's parent message; the clicker is told the counts.
 * Approve all carries the header's mark of the edits it had seen: later edits are held back.
 */
export function registerBulk(app: App, deps: SlackDeps): void {
  app.action(ACTION_IDS.approveAll, async ({ ack, body, action, client }) => {
    await ack();
    const batch = parseBatchButtonValue((action as { value?: string }).value);
    if (!batch) return tellUser(client, clickPlace(body), body.user.id, 'That button could not be read: use the batch message.');
    const r = await approveAll(deps.ctx, slackActor(deps, body.user), batch.batchId, batch.editsThrough);
    await tellUser(client, clickPlace(body), body.user.id, r.message);
  });
  app.action(ACTION_IDS.rejectAll, async ({ ack, body, action, client }) => {
    await ack();
    const batch = parseBatchButtonValue((action as { value?: string }).value);
    if (!batch) return tellUser(client, clickPlace(body), body.user.id, 'That button could not be read: use the batch message.');
    const r = await rejectAll(deps.ctx, slackActor(deps, body.user), batch.batchId);
    await tellUser(client, clickPlace(body), body.user.id, r.message);
  });
}
