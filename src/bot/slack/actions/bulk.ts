import type { App } from '@slack/bolt';
import type { Actor } from '../../actor.ts';
import { approveAll, rejectAll } from '../../approvals.ts';
import { ACTION_IDS, parseBatchButtonValue } from '../blocks.ts';
import { clickPlace, slackActor, tellUser, type SlackDeps } from '../deps.ts';

/**
 * Approve all / Reject all on a batch's parent message; the clicker is told the counts.
 * Approve all carries the header's mark of the edits it had seen: later edits are held back.
 */
export function registerBulk(app: App, deps: SlackDeps): void {
  type Batch = NonNullable<ReturnType<typeof parseBatchButtonValue>>;
  for (const [id, run] of [
    [ACTION_IDS.approveAll, (actor: Actor, b: Batch) => approveAll(deps.ctx, actor, b.batchId, b.editsThrough)],
    [ACTION_IDS.rejectAll, (actor: Actor, b: Batch) => rejectAll(deps.ctx, actor, b.batchId)],
  ] as const) {
    app.action(id, async ({ ack, body, action, client }) => {
      await ack();
      const batch = parseBatchButtonValue((action as { value?: string }).value);
      if (!batch) return tellUser(client, clickPlace(body), body.user.id, 'That button could not be read: use the batch message.');
      const r = await run(slackActor(deps, body.user), batch);
      await tellUser(client, clickPlace(body), body.user.id, r.message);
    });
  }
}
