/**
 * `smsops start`: the whole service in one process. Opens the database (migrating it),
 * mounts every configured surface and webhook on the one HTTP server, starts the
 * scheduler, and drains cleanly on SIGTERM/SIGINT.
 */
import type { Server } from 'node:http';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import type { Config } from './config.ts';
import type { AppContext } from './context.ts';
import { startSurfaces } from './bot/index.ts';
import { startChatOutbox } from './bot/outbox.ts';
import { openDatabase } from './db/database.ts';
import { migrate } from './db/migrate.ts';
import { createHttpApp, listen } from './http/server.ts';
import { startScheduler } from './scheduler/index.ts';
import { createSmsProvider } from './sms/index.ts';
import type { Logger } from './log.ts';

export interface RunningService {
  readonly ctx: AppContext;
  readonly server: Server;
  /** The URL the server answers on (with the real port when PORT=0). */
  readonly url: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  log: Logger;
  clock?: Clock;
}

export async function startService(opts: StartOptions): Promise<RunningService> {
  const { config, log } = opts;
  const db = await openDatabase(config, log);
  await migrate(db, log);
  const ctx: AppContext = { config, db, log, clock: opts.clock ?? systemClock };
  const stops: (() => Promise<void>)[] = [];

  const app = createHttpApp({ db, log });

  // Chat surfaces mount their routes before listen; the outbox delivers to them.
  const chat = await startSurfaces(ctx, app);
  stops.push(chat.stop);
  const outbox = startChatOutbox(ctx, chat.surfaces);
  stops.push(outbox.stop);
  // The scheduler mounts the Twilio webhooks and stops first on shutdown (drains in-flight sends).
  const scheduler = await startScheduler(ctx, { sms: createSmsProvider(ctx), app });
  stops.push(scheduler.stop);

  const server = await listen(app, config.http.host, config.http.port, log);
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.http.port;
  const url = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${port}`;
  log.info('smsops is up', { url, database: db.engine });

  let stopping: Promise<void> | undefined;
  return {
    ctx,
    server,
    url,
    stop() {
      stopping ??= (async () => {
        // Reverse order: stop taking work, drain in-flight sends, then close the database.
        for (const stop of stops.reverse()) await stop().catch((err) => log.error('shutdown step failed', { err }));
        await new Promise<void>((r) => server.close(() => r()));
        server.closeAllConnections?.();
        await db.close();
      })();
      return stopping;
    },
  };
}
