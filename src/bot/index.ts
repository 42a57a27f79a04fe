/**
 * Starts the chat surfaces this configuration asks for and mounts their HTTP routes on
 * the one express app (call before it listens): Slack and Discord when configured, and the local
 * console when no chat platform is configured or the server is bound to loopback.
 */
import type express from 'express';
import type { SurfaceName } from '../config.ts';
import type { AppContext } from '../context.ts';
import type { ChatSurface } from './chatSurface.ts';
import { createConsoleSurface } from './console/index.ts';
import { startDiscord } from './discord/index.ts';
import { createSlackSurface } from './slack/index.ts';

const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];

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
    if ((!ctx.config.slack && !ctx.config.discord) || LOOPBACK.includes(ctx.config.http.host)) {
      const console = await createConsoleSurface(ctx, app);
      surfaces.set('console', console.surface);
      stops.push(console.stop);
    }
  } catch (e) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw e;
  }
  return {
    surfaces,
    async stop() {
      for (const stop of stops.reverse()) await stop().catch((err: unknown) => ctx.log.error('stopping a chat surface failed', { err }));
    },
  };
}
