/** A manager's `/campaign` commands in the console channel, and the chat posts they leave, as the by-hand tests read them. */
import type { Actor } from '../../src/bot/actor.ts';
import { runCampaignCommand } from '../../src/bot/commands.ts';
import type { AppContext } from '../../src/context.ts';
import type { Queryable } from '../../src/db/database.ts';

export const dana: Actor = { id: 'UDANA', name: 'Dana', surface: 'slack', isApprover: true };
export const lee: Actor = { id: 'ULEE', name: 'Lee', surface: 'slack', isApprover: true };
export const sam: Actor = { id: 'USAM', name: 'Sam', surface: 'slack', isApprover: false };

/** `/campaign TEXT` run by `actor` in the console channel; resolves with the reply. */
export function campaignCommand(ctx: AppContext, actor: Actor, text: string) {
  return runCampaignCommand(ctx, actor, { text, channel: 'console' });
}

/** The texts of the chat posts titled `title`, oldest first. */
export async function postTexts(q: Queryable, title: string): Promise<string[]> {
  const { rows } = await q.query<{ text: string }>(
    `SELECT payload->'message'->>'text' AS text FROM chat_outbox WHERE payload->'message'->>'title' = $1 ORDER BY id`,
    [title],
  );
  return rows.map((r) => r.text);
}
