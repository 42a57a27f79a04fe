/**
 * A scheduler process for the crash tests: runs the real dispatcher (claim, send through
 * a slow local outbox provider, or Twilio's client against a peer, record, reconcile) against the database in CHILD_DATABASE_URL.
 * `--until-idle` exits 0 once nothing is left to send or settle; SIGTERM drains and exits 0.
 */
import { systemClock } from '../../../src/clock.ts';
import { loadConfig } from '../../../src/config.ts';
import { openPostgres } from '../../../src/db/database.ts';
import { silentLogger } from '../../../src/log.ts';
import { Dispatcher, sleep } from '../../../src/scheduler/dispatcher.ts';
import { OutboxSmsProvider } from '../../../src/sms/outbox.ts';
import { peerProvider } from '../../peers/twilio.ts';

const db = await openPostgres(process.env.CHILD_DATABASE_URL!, silentLogger, 4);
const ctx = { config: loadConfig({ LOG_LEVEL: 'silent' }), db, log: silentLogger, clock: systemClock };
// CHILD_TWILIO_URL: the real twilio client against the test's Twilio peer (which adds the latency) instead of the outbox.
const sms = process.env.CHILD_TWILIO_URL
  ? peerProvider({ url: process.env.CHILD_TWILIO_URL, accountSid: process.env.CHILD_TWILIO_SID!, authToken: process.env.CHILD_TWILIO_TOKEN!, timeoutMs: 5000 })
  : new OutboxSmsProvider(db.pool, systemClock, { latencyMs: Number(process.env.CHILD_LATENCY_MS ?? 40) });
const dispatcher = new Dispatcher(ctx, sms, {
  batchSize: Number(process.env.CHILD_BATCH ?? 10),
  concurrency: 4,
  bubbleGapMs: 0,
  leaseMs: Number(process.env.CHILD_LEASE_MS ?? 1500),
  settleMs: 200,
  maxAttempts: 50,
});
const untilIdle = process.argv.includes('--until-idle');
let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
});

let idleRounds = 0;
while (!stopping) {
  await dispatcher.reconcileOnce();
  const r = await dispatcher.runOnce();
  if (r.claimed === 0) {
    if (untilIdle) {
      const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM campaign_messages WHERE status IN ('approved', 'sending', 'unknown')`);
      if (rows[0].n === 0 && ++idleRounds > 2) break;
    }
    await sleep(50);
  }
}
await db.close();
process.stdout.write('drained\n');
process.exit(0);
