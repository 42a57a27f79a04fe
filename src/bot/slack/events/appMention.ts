import type { App } from '@slack/bolt';
import { claimEvent } from '../../../db/queries/handledEvents.ts';
import { runCampaignCommand } from '../../commands.ts';
import { slackActor, tellUser, type SlackDeps } from '../deps.ts';

/** "@smsops status spring" works like "/campaign status spring", answered in the thread. */
export function registerAppMention(app: App, deps: SlackDeps): void {
  // Slack redelivers an event (X-Slack-Retry-Num) when it missed our ack, also to another
  // instance or after a restart: answer each event id once (a command like "test" sends an SMS).
  app.event('app_mention', async ({ event, client, body }) => {
    if (!(await claimEvent(deps.ctx.db.pool, 'slack', body.event_id, 'app_mention'))) {
      deps.ctx.log.info('slack event seen before; not acting again', { eventId: body.event_id });
      return;
    }
    const text = event.text.replace(/<@[A-Z0-9]+>/g, '').trim();
    const user = event.user ?? '';
    const reply = await runCampaignCommand(deps.ctx, slackActor(deps, { id: user }), { text, channel: event.channel });
    const thread = event.thread_ts ?? event.ts;
    if (reply.visibility === 'ephemeral') await tellUser(client, { channel: event.channel, thread }, user, reply.text);
    else await client.chat.postMessage({ channel: event.channel, thread_ts: thread, text: reply.text });
  });
}
