/** A slash command: its registration JSON (deployed by `smsops discord deploy-commands`) and its handler. */
import type { RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { DiscordDeps } from '../context.ts';
import type { CommandOption, Interaction } from '../payload.ts';
import type { InteractionReply } from '../respond.ts';

export interface Command {
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  execute(deps: DiscordDeps, i: Interaction, options: CommandOption[]): Promise<InteractionReply>;
}
