/**
 * One interaction, whichever way it arrived (HTTP endpoint or gateway): validated,
 * claimed once by id (a repeat is answered without acting), routed by type and custom
 * id, and answered within Discord's 3 seconds (see respond.ts).
 */
import { InteractionResponseType, InteractionType, MessageFlags } from 'discord.js';
import { coerceError } from '../../errors.ts';
import { commands } from './commands/index.ts';
import { onButton } from './components.ts';
import type { DiscordDeps } from './context.ts';
import { onEditSubmit } from './modals.ts';
import { commandDataSchema, componentDataSchema, interactionSchema, modalDataSchema, type Interaction } from './payload.ts';
import { claimEvent } from '../../db/queries/handledEvents.ts';
import { parseEditModalId } from './render.ts';
import { ephemeral } from './replies.ts';
import { answerInTime, type InteractionReply, type InteractionTransport } from './respond.ts';

export type DispatchResult = 'handled' | 'duplicate' | 'invalid';

function route(deps: DiscordDeps, i: Interaction): { work: () => Promise<InteractionReply>; deferAs: 'update' | 'thinking' } {
  switch (i.type) {
    case InteractionType.ApplicationCommand: {
      const data = commandDataSchema.parse(i.data);
      const command = commands.get(data.name);
      return {
        deferAs: 'thinking',
        work: async () => (command ? command.execute(deps, i, data.options) : ephemeral(`Unknown command /${data.name}.`)),
      };
    }
    case InteractionType.MessageComponent: {
      const data = componentDataSchema.parse(i.data);
      return { deferAs: 'update', work: () => onButton(deps, i, data.custom_id) };
    }
    case InteractionType.ModalSubmit: {
      const data = modalDataSchema.parse(i.data);
      const modal = parseEditModalId(data.custom_id);
      return {
        // A modal opened from a card can update that card; otherwise the answer is a message.
        deferAs: i.message ? 'update' : 'thinking',
        work: async () => (modal === undefined ? ephemeral('This form is not one of ours.') : onEditSubmit(deps, i, modal, data)),
      };
    }
    default:
      return { deferAs: 'thinking', work: async () => ephemeral('This kind of interaction is not supported.') };
  }
}

/**
 * Handles one interaction payload. PING is answered with PONG; a repeated id is not acted
 * on again (the HTTP transport still gets an empty acknowledgement, since it must answer).
 */
export async function dispatchInteraction(
  deps: DiscordDeps,
  raw: unknown,
  t: InteractionTransport,
  opts: { answerDuplicates: boolean },
): Promise<DispatchResult> {
  const parsed = interactionSchema.safeParse(raw);
  if (!parsed.success) {
    deps.ctx.log.warn('discord interaction payload not understood', { issues: parsed.error.issues.slice(0, 3) });
    return 'invalid';
  }
  const i = parsed.data;
  if (i.type === InteractionType.Ping) {
    await t.respond({ type: InteractionResponseType.Pong });
    return 'handled';
  }
  if (!(await claimEvent(deps.ctx.db.pool, 'discord', i.id, String(i.type)))) {
    deps.ctx.log.info('discord interaction seen before; not acting again', { id: i.id });
    if (opts.answerDuplicates) {
      await t.respond(
        i.type === InteractionType.ApplicationCommand
          ? { type: InteractionResponseType.ChannelMessageWithSource, data: { content: 'Already handled.', flags: MessageFlags.Ephemeral } }
          : { type: InteractionResponseType.DeferredMessageUpdate },
      );
    }
    return 'duplicate';
  }
  let r: ReturnType<typeof route>;
  try {
    r = route(deps, i);
  } catch (e) {
    deps.ctx.log.warn('discord interaction data not understood', { err: coerceError(e), id: i.id });
    await t.respond({
      type: InteractionResponseType.ChannelMessageWithSource,
      data: { content: 'Sorry, I could not read that request.', flags: MessageFlags.Ephemeral },
    });
    return 'invalid';
  }
  await answerInTime(
    t,
    { rest: deps.rest, applicationId: deps.applicationId, token: i.token, log: deps.ctx.log },
    r.work(),
    { deferAs: r.deferAs, deferAfterMs: deps.deferAfterMs },
  );
  return 'handled';
}
