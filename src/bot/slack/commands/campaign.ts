import type { App } from '@slack/bolt';
import { runCampaignCommand } from '../../commands.ts';
import { commandReplyMessage } from '../blocks.ts';
import { slackActor, type SlackDeps } from '../deps.ts';

/** `/campaign ...`: acked at once, answered through the command's response_url. */
export function registerCampaign(app: App, deps: SlackDeps): void {
  app.command('/campaign', async ({ ack, command, respond }) => {
    await ack();
    const actor = slackActor(deps, { id: command.user_id, name: command.user_name });
    const reply = await runCampaignCommand(deps.ctx, actor, { text: command.text ?? '', channel: command.channel_id });
    await respond(commandReplyMessage(reply));
  });
}
