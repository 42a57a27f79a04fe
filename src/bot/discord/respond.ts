/**
 * Answering an interaction within Discord's 3 seconds. A handler produces a reply
 * (replace the message the button was on, say something, or open a modal); if it is not
 * ready after `deferAfterMs`, Discord gets a deferral (type 6 for buttons and modals,
 * type 5 "thinking", visible only to the user, for commands) and the reply follows
 * through the interaction webhook once ready.
 */
import {
  InteractionResponseType,
  MessageFlags,
  Routes,
  type APIInteractionResponse,
  type APIModalInteractionResponseCallbackData,
  type REST,
} from 'discord.js';
import { coerceError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { DiscordMessage } from './render.ts';

/** What a handler answers. */
export interface InteractionReply {
  /** New content for the message the button or modal came from (cards, batch header). */
  update?: DiscordMessage;
  /** A text reply; ephemeral = seen only by the person who acted. */
  message?: { content: string; ephemeral: boolean; components?: NonNullable<DiscordMessage['body']['components']> };
  /** A modal to open (must be the first answer; never deferred). */
  modal?: APIModalInteractionResponseCallbackData;
}

/** How the first answer reaches Discord: the HTTP response, or the callback endpoint (gateway). */
export interface InteractionTransport {
  respond(body: APIInteractionResponse): Promise<void>;
}

export interface Followups {
  rest: REST;
  applicationId: string;
  token: string;
  log: Logger;
}

const CONTENT_MAX = 2000;

function clipContent(s: string): string {
  return s.length <= CONTENT_MAX ? s : s.slice(0, CONTENT_MAX - 1) + '…';
}

function messageData(m: NonNullable<InteractionReply['message']>) {
  return {
    content: clipContent(m.content),
    flags: m.ephemeral ? MessageFlags.Ephemeral : undefined,
    components: m.components,
    allowed_mentions: { parse: [] },
  };
}

/** The first answer for a reply that is ready in time. */
export function immediateResponse(reply: InteractionReply): APIInteractionResponse {
  if (reply.modal) return { type: InteractionResponseType.Modal, data: reply.modal };
  if (reply.update) return { type: InteractionResponseType.UpdateMessage, data: reply.update.body as never };
  if (reply.message) return { type: InteractionResponseType.ChannelMessageWithSource, data: messageData(reply.message) as never };
  return { type: InteractionResponseType.DeferredMessageUpdate };
}

async function followUp(f: Followups, reply: InteractionReply, deferredAs: 'update' | 'thinking'): Promise<void> {
  const original = Routes.webhookMessage(f.applicationId, f.token);
  if (reply.update) await f.rest.patch(original, { body: reply.update.body, auth: false });
  if (!reply.message) return;
  if (deferredAs === 'thinking') {
    // The "thinking" placeholder is ephemeral: it becomes the reply, or points to the public one.
    const publicReply = !reply.message.ephemeral;
    await f.rest.patch(original, {
      body: publicReply ? { content: 'Done: the answer is posted in the channel.' } : messageData(reply.message),
      auth: false,
    });
    if (!publicReply) return;
  }
  await f.rest.post(Routes.webhook(f.applicationId, f.token), { body: messageData(reply.message), auth: false });
}

/**
 * Answers with `work`'s reply if it is ready within `deferAfterMs`, else defers and sends
 * the reply as follow-ups. A failure becomes an ephemeral "could not" message. Resolves
 * when everything has been sent.
 */
export async function answerInTime(
  t: InteractionTransport,
  f: Followups,
  work: Promise<InteractionReply>,
  opts: { deferAs: 'update' | 'thinking'; deferAfterMs: number },
): Promise<void> {
  const failed = (e: unknown): InteractionReply => {
    f.log.error('discord interaction failed', { err: coerceError(e) });
    return { message: { content: `Sorry, that did not work: ${coerceError(e).message}`, ephemeral: true } };
  };
  const settled = work.then((r) => r, failed);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => {
    timer = setTimeout(() => r('late'), opts.deferAfterMs);
  });
  // deferAfterMs <= 0 always defers (an install that wants every answer as a follow-up).
  const first = opts.deferAfterMs <= 0 ? 'late' : await Promise.race([settled, late]);
  clearTimeout(timer);

  if (first !== 'late') {
    await t.respond(immediateResponse(first));
    // An update answers the button; a note about it goes along as an ephemeral follow-up.
    if (first.update && first.message) {
      await f.rest.post(Routes.webhook(f.applicationId, f.token), { body: messageData(first.message), auth: false });
    }
    return;
  }
  await t.respond(
    opts.deferAs === 'update'
      ? { type: InteractionResponseType.DeferredMessageUpdate }
      : { type: InteractionResponseType.DeferredChannelMessageWithSource, data: { flags: MessageFlags.Ephemeral } },
  );
  const reply = await settled;
  if (reply.modal) {
    f.log.error('a modal reply came too late to open; Discord only opens modals as the first answer');
    return;
  }
  await followUp(f, reply, opts.deferAs);
}
