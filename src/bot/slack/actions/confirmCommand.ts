import type { App } from '@slack/bolt';
import { runCampaignCommand } from '../../commands.ts';
import { ACTION_IDS, commandReplyMessage } from '../blocks.ts';
import { clickPlace, slackActor, type SlackDeps } from '../deps.ts';

/** The confirm button of a /campaign reply (e.g. cancel): runs the confirmed command. */
export function registerConfirmCommand(app: App, deps: SlackDeps): void {
  app.action(ACTION_IDS.confirmCommand, async ({ ack, body, action, respond }) => {
    await ack();
    const reply = await runCampaignCommand(deps.ctx, slackActor(deps, body.user), {
      text: (action as { value?: string }).value ?? 'help',
      channel: clickPlace(body).channel ?? '',
    });
    await respond({ ...commandReplyMessage(reply), replace_original: true });
  });
}
