/**
 * The one HTTP server (HOST/PORT). Each surface mounts its routes on the express app
 * before `listen`: Slack at /slack/events, Twilio at /twilio/*, Discord at
 * /discord/interactions, the console at /. Body parsing is per route, because the
 * signature checks need the raw bytes.
 */
import type { Server } from 'node:http';
import express from 'express';
import type { Database } from '../db/database.ts';
import type { Logger } from '../log.ts';
import { renderMetrics } from './metrics.ts';

export function createHttpApp(deps: { db: Database; log: Logger }): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', async (_req, res) => {
    try {
      await deps.db.pool.query('SELECT 1');
      res.json({ ok: true, database: deps.db.engine });
    } catch (e) {
      res.status(503).json({ ok: false, error: (e as Error).message });
    }
  });
  app.get('/metrics', (_req, res) => {
    res.type('text/plain; version=0.0.4').send(renderMetrics());
  });
  return app;
}

/** Adds the final 404 and error handlers, then listens. Resolves once the port is bound. */
export function listen(app: express.Express, host: string, port: number, log: Logger): Promise<Server> {
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    log.error('request failed', { err });
    if (!res.headersSent) res.status(500).json({ error: 'internal error' });
  });
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, () => resolve(server));
    server.once('error', (e: NodeJS.ErrnoException) => {
      reject(
        e.code === 'EADDRINUSE'
          ? new Error(`Port ${port} on ${host} is already in use: stop the other process or set PORT to a free port.`)
          : e,
      );
    });
  });
}
