import type { App } from '@slack/bolt';
import { runCampaignCommand } from '../../commands.ts';
import { slackActor, tellUser, type SlackDeps } from '../deps.ts';

/** "@smsops status spring" works like "/campaign status spring", answered in the thread. */
export function registerAppMention(app: App, deps: SlackDeps): void {
  // Slack redelivers an event (X-Slack-Retry-Num) when it missed our ack: answer each event id once.
  const answered = new Set<string>();
  app.event('app_mention', async ({ event, client, body }) => {
    if (answered.has(body.event_id)) return;
    answered.add(body.event_id);
    if (answered.size > 1000) answered.delete(answered.values().next().value!);
    const text = event.text.replace(/<@[A-Z0-9]+>/g, '').trim();
    const user = event.user ?? '';
    const reply = await runCampaignCommand(deps.ctx, slackActor(deps, { id: user }), { text, channel: event.channel });
    const thread = event.thread_ts ?? event.ts;
    if (reply.visibility === 'ephemeral') await tellUser(client, { channel: event.channel, thread }, user, reply.text);
    else await client.chat.postMessage({ channel: event.channel, thread_ts: thread, text: reply.text });
  });
}
