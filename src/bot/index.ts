/**
 * Starts the chat surfaces this configuration asks for and mounts their HTTP routes on
 * the one express app (call before it listens): Slack and Discord when configured, and the local
 * console when no chat platform is configured or CONSOLE_TOKEN is set.
 */
import type express from 'express';
import type { SurfaceName } from '../config.ts';
import type { AppContext } from '../context.ts';
import { pruneHandledEvents } from '../db/queries/handledEvents.ts';
import type { ChatSurface } from './chatSurface.ts';
import { createConsoleSurface } from './console/index.ts';
import { startDiscord } from './discord/index.ts';
import { createSlackSurface } from './slack/index.ts';

/** How often ids of handled Slack events and Discord interactions older than a day are forgotten. */
const PRUNE_EVERY_MS = 60 * 60 * 1000;

export async function startSurfaces(
  ctx: AppContext,
  app: express.Express,
): Promise<{ surfaces: Map<SurfaceName, ChatSurface>; stop(): Promise<void> }> {
  const surfaces = new Map<SurfaceName, ChatSurface>();
  const stops: (() => Promise<void>)[] = [];
  try {
    if (ctx.config.slack) {
      const slack = await createSlackSurface(ctx, app);
      surfaces.set('slack', slack.surface);
      stops.push(slack.stop);
    }
    if (ctx.config.discord) {
      const discord = await startDiscord(ctx, app);
      surfaces.set('discord', discord.surface);
      stops.push(discord.stop);
    }
    // Beside a chat surface, only with its token: a chat surface needs a public URL, often a
    // proxy on this machine, which makes every request look local to the loopback check.
    if ((!ctx.config.slack && !ctx.config.discord) || ctx.config.consoleToken !== undefined) {
      const console = await createConsoleSurface(ctx, app);
      surfaces.set('console', console.surface);
      stops.push(console.stop);
    }
  } catch (e) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw e;
  }
  const prune = setInterval(() => {
    pruneHandledEvents(ctx.db.pool).catch((err: unknown) => ctx.log.warn('pruning handled chat event ids failed', { err }));
  }, PRUNE_EVERY_MS);
  prune.unref();
  return {
    surfaces,
    async stop() {
      clearInterval(prune);
      for (const stop of stops.reverse()) await stop().catch((err: unknown) => ctx.log.error('stopping a chat surface failed', { err }));
    },
  };
}
