/** Reply builders shared by the button, modal and command handlers. */
import type { ActionOutcome } from '../approvals.ts';
import { discordMarkdown } from './context.ts';
import type { InteractionReply } from './respond.ts';

/** A reply only the person who acted sees. */
export function ephemeral(content: string): InteractionReply {
  return { message: { content: discordMarkdown(content), ephemeral: true } };
}

/** Why the core refused an action, with its error list when it has one. */
export function refusalText(o: Extract<ActionOutcome, { ok: false }>): string {
  const errors = o.code === 'stale' ? [] : (o.errors ?? []);
  const extra = errors.length && errors.join(' ') !== o.message ? '\n' + errors.map((e) => `• ${e}`).join('\n') : '';
  return o.message + extra;
}

/** A refusal, to the person who acted. */
export function refusal(o: Extract<ActionOutcome, { ok: false }>): InteractionReply {
  return ephemeral(refusalText(o));
}
