/** Registers the slash commands with Discord (PUT replaces the whole set, so it is safe to repeat). */
import { Routes, type REST } from 'discord.js';
import { commands } from './index.ts';

/**
 * PUT applications/{appId}/commands, or .../guilds/{guildId}/commands for one server
 * (guild commands appear at once; global ones can take up to an hour to show up).
 */
export async function deployCommands(rest: REST, applicationId: string, guildId?: string): Promise<{ id: string; name: string }[]> {
  const route = guildId ? Routes.applicationGuildCommands(applicationId, guildId) : Routes.applicationCommands(applicationId);
  const body = [...commands.values()].map((c) => c.data);
  return (await rest.put(route, { body })) as { id: string; name: string }[];
}
