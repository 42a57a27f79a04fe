/** Every slash command, by name: what deploy-commands registers and the dispatcher routes to. */
import campaign from './campaign.ts';
import type { Command } from './command.ts';

export const commands: ReadonlyMap<string, Command> = new Map([[campaign.data.name, campaign]]);
