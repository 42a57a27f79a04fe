/** What the Slack listeners share: the app context, who may approve, and small reply helpers. */
import type { webApi } from '@slack/bolt';
import type { AppContext } from '../../context.ts';
import type { Actor } from '../actor.ts';
import { parseCardButtonValue } from './blocks.ts';

export interface SlackDeps {
  ctx: AppContext;
  /** Slack user ids allowed to act; empty = anyone in the channel. */
  approverIds: readonly string[];
}

/** The acting Slack user as the approval core sees them. */
export function slackActor(deps: SlackDeps, user: { id: string; name?: string; username?: string }): Actor {
  return {
    id: user.id,
    name: user.name || user.username || user.id,
    surface: 'slack',
    isApprover: deps.approverIds.length === 0 || deps.approverIds.includes(user.id),
  };
}

/** Where a block_actions click happened (channel, thread), from Slack's payload. */
export function clickPlace(body: unknown): { channel?: string; thread?: string } {
  const b = body as { channel?: { id?: string }; container?: { channel_id?: string; thread_ts?: string }; message?: { thread_ts?: string } };
  return { channel: b.channel?.id ?? b.container?.channel_id, thread: b.container?.thread_ts ?? b.message?.thread_ts };
}

/** A reply only `user` sees, in the thread the click came from. */
export async function tellUser(client: webApi.WebClient, place: { channel?: string; thread?: string }, user: string, text: string): Promise<void> {
  if (!place.channel) return;
  await client.chat.postEphemeral({ channel: place.channel, user, text, ...(place.thread ? { thread_ts: place.thread } : {}) });
}

/** The card a button was on (its value, `<messageId>:<version>`); an unreadable one is told to the clicker, and gives undefined. */
export async function clickedCard(client: webApi.WebClient, body: { user: { id: string } }, action: unknown): Promise<{ messageId: number; version: number | null } | undefined> {
  const card = parseCardButtonValue((action as { value?: string }).value);
  if (!card) await tellUser(client, clickPlace(body), body.user.id, 'That button could not be read: use the card in the thread.');
  return card;
}
