/**
 * The Discord surface, started when DISCORD_TOKEN, DISCORD_APPLICATION_ID and
 * DISCORD_CHANNEL_ID are set. Interactions arrive one of two ways:
 *   - DISCORD_PUBLIC_KEY set: POST /discord/interactions (set the developer portal's
 *     "Interactions Endpoint URL" to PUBLIC_URL + /discord/interactions);
 *   - DISCORD_PUBLIC_KEY unset: the gateway (a websocket from this process; no public URL).
 */
import type express from 'express';
import type { AppContext } from '../../context.ts';
import type { DiscordDeps } from './context.ts';
import { startGateway } from './gateway.ts';
import { InFlight, mountInteractionsEndpoint } from './interactions.ts';
import { createDiscordRest, DiscordSurface } from './surface.ts';
import { importDiscordPublicKey } from './verify.ts';

/** Discord allows 3 s for the first answer; leave room for the network. */
export const DEFER_AFTER_MS = 1500;

export interface RunningDiscord {
  surface: DiscordSurface;
  /** How interactions arrive. */
  mode: 'http' | 'gateway';
  /** Resolves when no interaction work (follow-ups) is in flight. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** Builds the surface and starts receiving interactions. Throws when Discord is not configured. */
export async function startDiscord(
  ctx: AppContext,
  app: express.Express,
  opts: { deferAfterMs?: number } = {},
): Promise<RunningDiscord> {
  const d = ctx.config.discord;
  if (!d) throw new Error('Discord is not configured: set DISCORD_TOKEN, DISCORD_APPLICATION_ID and DISCORD_CHANNEL_ID.');
  const rest = createDiscordRest(d);
  const deps: DiscordDeps = {
    ctx,
    rest,
    applicationId: d.applicationId,
    approverRoleId: d.approverRoleId,
    deferAfterMs: opts.deferAfterMs ?? DEFER_AFTER_MS,
  };
  const inFlight = new InFlight();
  let stopGateway: (() => Promise<void>) | undefined;
  if (d.publicKey) {
    mountInteractionsEndpoint(app, deps, importDiscordPublicKey(d.publicKey), inFlight);
  } else {
    stopGateway = startGateway(deps, d, inFlight).stop;
  }
  ctx.log.info('discord surface ready', { interactions: d.publicKey ? 'http' : 'gateway', channel: d.channelId });
  return {
    surface: new DiscordSurface(rest),
    mode: d.publicKey ? 'http' : 'gateway',
    idle: () => inFlight.idle(),
    async stop() {
      await stopGateway?.();
      await inFlight.idle();
    },
  };
}
