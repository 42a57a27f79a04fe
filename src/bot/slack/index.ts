/**
 * Slack on @slack/bolt. HTTP mode: Bolt's ExpressReceiver mounted on our express app at
 * POST /slack/events (signature and freshness verified: a forged or stale request gets
 * 401 and reaches no listener). Socket Mode instead when SLACK_APP_TOKEN is set. The Web
 * API client goes to SLACK_API_URL when set, and retries 429s after their Retry-After.
 */
import { App, ExpressReceiver, LogLevel, webApi, type Logger as BoltLogger } from '@slack/bolt';
import type express from 'express';
import type { AppContext } from '../../context.ts';
import { coerceError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import * as actions from './actions/index.ts';
import * as commands from './commands/index.ts';
import type { SlackDeps } from './deps.ts';
import * as events from './events/index.ts';
import { SlackSurface, type RetryPolicy } from './surface.ts';
import * as views from './views/index.ts';

export interface SlackOptions {
  /** Least time between two posts into one channel (ms); Slack allows about one per second. */
  postIntervalMs?: number;
  /** The Web API client's retry policy (429s and outages); the outbox retries beyond it. */
  retryConfig?: RetryPolicy;
}

/** Bolt's logger interface over ours. */
function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.INFO;
  return {
    debug: (...m: unknown[]) => log.debug(m.map(String).join(' ')),
    info: (...m: unknown[]) => log.info(m.map(String).join(' ')),
    warn: (...m: unknown[]) => log.warn(m.map(String).join(' ')),
    error: (...m: unknown[]) => log.error(m.map(String).join(' ')),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

/** Builds the Slack surface and mounts its listeners on `app` (HTTP) or connects Socket Mode. */
export async function createSlackSurface(
  ctx: AppContext,
  app: express.Express,
  opts: SlackOptions = {},
): Promise<{ surface: SlackSurface; client: webApi.WebClient; stop(): Promise<void> }> {
  const cfg = ctx.config.slack;
  if (!cfg) throw new Error('Slack is not configured: set SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and SLACK_CHANNEL_ID.');
  const log = ctx.log.child({ component: 'slack' });
  const logger = boltLogger(log);
  const retryConfig: RetryPolicy = opts.retryConfig ?? { retries: 3, factor: 2, minTimeout: 1000, maxTimeout: 10_000 };
  const clientOptions: webApi.WebClientOptions = {
    ...(cfg.apiUrl ? { slackApiUrl: cfg.apiUrl + '/' } : {}),
    rejectRateLimitedCalls: false,
    retryConfig,
    logger,
  };
  const client = new webApi.WebClient(cfg.botToken, clientOptions);
  // Posts are not idempotent: the surface retries them itself, looking first (see SlackSurface.post).
  const postClient = new webApi.WebClient(cfg.botToken, { ...clientOptions, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });

  // Bot identity, looked up once off the request path (every listener would otherwise wait on auth.test).
  const identity: { botId?: string; botUserId?: string } = {};
  void client.auth.test().then(
    (r) => {
      identity.botId = r.bot_id;
      identity.botUserId = r.user_id;
      log.info('connected to Slack', { team: r.team, bot: r.user });
    },
    (err: unknown) => log.error('Slack auth.test failed: check SLACK_BOT_TOKEN (and SLACK_API_URL if set)', { err: coerceError(err) }),
  );
  const authorize = async () => ({ botToken: cfg.botToken, ...identity });

  const socketMode = Boolean(cfg.appToken);
  const boltApp = socketMode
    ? new App({ appToken: cfg.appToken, socketMode: true, authorize, clientOptions, logger })
    : new App({
        authorize,
        clientOptions,
        logger,
        receiver: new ExpressReceiver({ signingSecret: cfg.signingSecret, app, endpoints: '/slack/events', logger }),
      });
  boltApp.error(async (err) => {
    log.error('Slack listener failed', { err: coerceError(err.original ?? err) });
  });

  const deps: SlackDeps = { ctx, approverIds: cfg.approverIds };
  actions.register(boltApp, deps);
  commands.register(boltApp, deps);
  views.register(boltApp, deps);
  events.register(boltApp, deps);

  if (socketMode) await boltApp.start();
  log.info(socketMode ? 'Slack connected in Socket Mode' : 'Slack listening at POST /slack/events');

  return {
    surface: new SlackSurface(client, { defaultChannel: cfg.channelId, postIntervalMs: opts.postIntervalMs ?? 1000, log, postClient, postRetry: retryConfig, botId: () => identity.botId }),
    client,
    async stop() {
      if (socketMode) await boltApp.stop();
    },
  };
}
