/**
 * Receiving interactions over the gateway (a discord.js Client), for installs without a
 * public URL. Used when DISCORD_PUBLIC_KEY is not set: Discord then delivers
 * interactions on the bot's websocket instead of POSTing them. The raw INTERACTION_CREATE
 * payload takes the same path as the HTTP endpoint; the first answer goes to the
 * interaction callback endpoint. After a reconnect the gateway may deliver an interaction
 * again: it is recognised by id and left alone.
 */
import { Client, Events, GatewayIntentBits, Routes } from 'discord.js';
import { coerceError } from '../../errors.ts';
import type { DiscordDeps } from './context.ts';
import { dispatchInteraction } from './dispatch.ts';
import type { InFlight } from './interactions.ts';

/** Handles one gateway INTERACTION_CREATE payload (`d`). */
export async function handleGatewayInteraction(deps: DiscordDeps, d: unknown): Promise<void> {
  const { id, token } = (d ?? {}) as { id?: string; token?: string };
  if (!id || !token) return;
  await dispatchInteraction(
    deps,
    d,
    { respond: async (body) => void (await deps.rest.post(Routes.interactionCallback(id, token), { body, auth: false })) },
    { answerDuplicates: false },
  );
}

/** Logs in and routes interactions; resolves once the login has been started (it completes in the background). */
export function startGateway(deps: DiscordDeps, d: { token: string; apiUrl: string | undefined }, inFlight: InFlight): { stop(): Promise<void> } {
  const client = new Client({ intents: [GatewayIntentBits.Guilds], ...(d.apiUrl ? { rest: { api: d.apiUrl } } : {}) });
  client.on(Events.Raw, (packet: { t?: string; d?: unknown }) => {
    if (packet.t !== 'INTERACTION_CREATE') return;
    inFlight.add(
      handleGatewayInteraction(deps, packet.d).catch((e: unknown) =>
        deps.ctx.log.error('discord interaction failed', { err: coerceError(e) }),
      ),
    );
  });
  client.once(Events.ClientReady, (c) => deps.ctx.log.info('discord gateway connected', { user: c.user.tag }));
  client.on(Events.Error, (e) => deps.ctx.log.error('discord gateway error', { err: e }));
  client.login(d.token).catch((e: unknown) =>
    deps.ctx.log.error('discord gateway login failed: check DISCORD_TOKEN (Bot token from the developer portal)', { err: coerceError(e) }),
  );
  return { stop: () => client.destroy() };
}
