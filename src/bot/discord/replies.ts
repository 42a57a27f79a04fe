/** Reply builders shared by the button, modal and command handlers. */
import type { ActionOutcome } from '../approvals.ts';
import { discordMarkdown } from './context.ts';
import type { InteractionReply } from './respond.ts';

/** A reply only the person who acted sees. */
export function ephemeral(content: string): InteractionReply {
  return { message: { content: discordMarkdown(content), ephemeral: true } };
}

/** Why the core refused an action (with its error list when it has one), to the person who acted. */
export function refusal(o: Extract<ActionOutcome, { ok: false }>): InteractionReply {
  const errors = o.code === 'stale' ? [] : (o.errors ?? []);
  const extra = errors.length && errors.join(' ') !== o.message ? '\n' + errors.map((e) => `• ${e}`).join('\n') : '';
  return ephemeral(o.message + extra);
}
