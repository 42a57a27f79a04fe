/**
 * A scheduler process for the fault suite: the real `startScheduler` (dispatch loop,
 * reconciler, Twilio webhooks on an express app) against CHILD_DATABASE_URL, sending
 * through the real twilio client to the parent's Twilio peer (CHILD_TWILIO_URL) or, when
 * that is unset, through the local outbox provider. It installs no error handlers of its
 * own: a database error that escapes the product's code crashes it, which the tests see.
 * Prints "ready" once started and "stopped" after a SIGTERM drain.
 */
import express from 'express';
import { systemClock } from '../../../src/clock.ts';
import { loadConfig } from '../../../src/config.ts';
import { openPostgres } from '../../../src/db/database.ts';
import { createLogger } from '../../../src/log.ts';
import { startScheduler } from '../../../src/scheduler/index.ts';
import { OutboxSmsProvider } from '../../../src/sms/outbox.ts';
import type { SmsProvider } from '../../../src/sms/provider.ts';
import { peerProvider } from '../../peers/twilio.ts';

const env = process.env;
const twilioUrl = env.CHILD_TWILIO_URL;
const config = loadConfig({
  LOG_LEVEL: 'warn',
  SCHEDULER_TICK_SECONDS: env.CHILD_TICK_SECONDS ?? '0.2',
  DAILY_SUMMARY_AT: 'off',
  ...(twilioUrl
    ? { TWILIO_ACCOUNT_SID: env.CHILD_TWILIO_SID!, TWILIO_AUTH_TOKEN: env.CHILD_TWILIO_TOKEN!, TWILIO_MESSAGING_SERVICE_SID: 'MG0001', TWILIO_API_URL: twilioUrl, PUBLIC_URL: 'https://smsops.example.com' }
    : {}),
});
const log = createLogger(env.CHILD_LOG_LEVEL === 'silent' ? 'silent' : 'warn', { pid: process.pid });
const db = await openPostgres(env.CHILD_DATABASE_URL!, log, Number(env.CHILD_POOL ?? 4), env.CHILD_IDLE_TX_MS ? Number(env.CHILD_IDLE_TX_MS) : undefined);
const ctx = { config, db, log, clock: systemClock };
const sms: SmsProvider = twilioUrl
  ? peerProvider({ url: twilioUrl, accountSid: env.CHILD_TWILIO_SID!, authToken: env.CHILD_TWILIO_TOKEN!, timeoutMs: Number(env.CHILD_TIMEOUT_MS ?? 1000) })
  : new OutboxSmsProvider(db.pool, systemClock, { latencyMs: Number(env.CHILD_LATENCY_MS ?? 0) });

const scheduler = await startScheduler(ctx, {
  sms,
  app: express(),
  dispatcher: {
    batchSize: Number(env.CHILD_BATCH ?? 20),
    concurrency: Number(env.CHILD_CONCURRENCY ?? 4),
    bubbleGapMs: 0,
    leaseMs: Number(env.CHILD_LEASE_MS ?? 3000),
    settleMs: Number(env.CHILD_SETTLE_MS ?? 300),
    maxAttempts: 50,
  },
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void scheduler.stop().then(async () => {
    await db.close().catch(() => undefined);
    process.stdout.write('stopped\n');
    process.exit(0);
  });
});
