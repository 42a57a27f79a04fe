/**
 * The local web console: the embedded default chat surface when no Slack or Discord
 * credentials are set. One page at `/` (static HTML/CSS/JS from ./public), a JSON API
 * and an event stream at `/api`, all behind the console guard (loopback, or CONSOLE_TOKEN).
 */
import { fileURLToPath } from 'node:url';
import express from 'express';
import type { AppContext } from '../../context.ts';
import type { ChatSurface } from '../chatSurface.ts';
import { consoleApi } from './api.ts';
import { consoleGuard } from './auth.ts';
import { ConsoleEvents } from './events.ts';
import { watchPhones } from './phones.ts';
import { ConsoleSurface } from './surface.ts';

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));

/** The page may load only its own files (and the chart images carried inside posts as data: URLs). */
const PAGE_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

/**
 * Mounts the console on `app` (call before the server starts listening) and returns its
 * ChatSurface for the chat outbox. `stop()` ends open event streams and the phone watcher.
 */
export async function createConsoleSurface(ctx: AppContext, app: express.Express): Promise<{ surface: ChatSurface; stop(): Promise<void> }> {
  const events = new ConsoleEvents();
  const guard = consoleGuard(ctx.config.consoleToken);
  const pageHeaders: express.RequestHandler = (_req, res, next) => {
    res.set(PAGE_HEADERS);
    next();
  };

  app.get('/', guard, pageHeaders, (_req, res) => {
    res.set('Cache-Control', 'no-store').sendFile('index.html', { root: PUBLIC_DIR });
  });
  app.use('/assets', guard, pageHeaders, express.static(PUBLIC_DIR, { index: false, maxAge: 0 }));
  app.use('/api', guard, consoleApi(ctx, events));

  const watcher = watchPhones(ctx, events);
  return {
    surface: new ConsoleSurface(ctx, events),
    async stop() {
      await watcher.stop();
      events.closeAll();
    },
  };
}
