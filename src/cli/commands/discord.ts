import type { Command } from 'commander';
import { deployCommands } from '../../bot/discord/commands/deploy.ts';
import { commands } from '../../bot/discord/commands/index.ts';
import { createDiscordRest } from '../../bot/discord/surface.ts';
import { AppError } from '../../errors.ts';
import { cliConfig } from '../runtime.ts';

export function registerDiscord(program: Command): void {
  const discord = program.command('discord').description('Discord setup');
  discord
    .command('deploy-commands')
    .description('register the /campaign slash command with Discord (run again after upgrading smsops)')
    .option('--guild <id>', 'register in one server only: shows up at once (global commands can take up to an hour)')
    .action(async (opts: { guild?: string }) => {
      const { config } = cliConfig();
      if (!config.discord) {
        throw new AppError(
          'discord_not_configured',
          'Discord is not configured: set DISCORD_TOKEN, DISCORD_APPLICATION_ID and DISCORD_CHANNEL_ID (see .env.example).',
        );
      }
      const registered = await deployCommands(createDiscordRest(config.discord), config.discord.applicationId, opts.guild);
      const names = registered.map((c) => `/${c.name}`).join(', ');
      const subs = [...commands.values()].reduce((n, c) => n + (c.data.options?.length ?? 0), 0);
      process.stdout.write(
        `Registered ${names} (${subs} subcommands) ${opts.guild ? `in server ${opts.guild}` : 'globally (may take up to an hour to appear)'}.\n`,
      );
    });
}
