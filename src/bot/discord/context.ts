/** What every Discord interaction handler is given, and who is acting. */
import type { REST } from 'discord.js';
import type { AppContext } from '../../context.ts';
import type { Actor } from '../actor.ts';
import type { Interaction } from './payload.ts';

export interface DiscordDeps {
  ctx: AppContext;
  rest: REST;
  applicationId: string;
  /** DISCORD_APPROVER_ROLE_ID: members with this role may act; unset = anyone who can see the channel. */
  approverRoleId: string | undefined;
  /** Defer when a reply is not ready after this long (Discord wants the first answer within 3 s). */
  deferAfterMs: number;
}

/** The person behind an interaction, as the approval core sees them (audited as surface 'discord'). */
export function actorOf(i: Interaction, approverRoleId: string | undefined): Actor {
  const user = i.member?.user ?? i.user;
  const name = i.member?.nick || user?.global_name || user?.username || 'unknown Discord user';
  // Outside a guild (a DM) there are no roles: only an unrestricted setup lets that person act.
  const isApprover = approverRoleId ? (i.member?.roles ?? []).includes(approverRoleId) : true;
  return { id: user?.id ?? 'unknown', name, surface: 'discord', isApprover };
}

/** Slack-style mrkdwn (the core's replies) as Discord markdown: *bold* -> **bold**, <url|text> -> [text](url). */
export function discordMarkdown(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part
            .replace(/(^|[\s(>])\*([^*\n]+)\*(?=[\s).,:;!?]|$)/gm, '$1**$2**')
            .replace(/(^|[\s(])~([^~\n]+)~(?=[\s).,:;!?]|$)/gm, '$1~~$2~~')
            .replace(/<(https?:[^|>\s]+)\|([^>]+)>/g, '[$2]($1)'),
    )
    .join('');
}
