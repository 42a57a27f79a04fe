/**
 * Dispatch benchmarks on one PostgreSQL server (DATABASE_URL, else TEST_DATABASE_URL, else
 * the local postgres://postgres:postgres@127.0.0.1:5432/postgres), side by side:
 * 1. throughput: our dispatcher sending N approved messages (caps raised, windows always
 *    open, a zero-latency provider) vs graphile-worker 0.17 running N no-op jobs (the
 *    target), and vs N graphile-worker jobs that each send one message with the same guarded
 *    writes (what a dispatcher built on a job queue, one job per message, would do);
 * 2. due-time lag at 100 messages/s (slot -> claim), p50 and p99;
 * 3. planning 100k approvals (the pure planner).
 * `npx tsx bench/dispatch.ts [N]`
 */
import { systemClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { openPostgres } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { silentLogger } from '../src/log.ts';
import { Dispatcher } from '../src/scheduler/dispatcher.ts';
import { DispatchLoop } from '../src/scheduler/index.ts';
import { planSlots } from '../src/scheduler/plan.ts';
import { slotSpanMs } from '../src/scheduler/recipients.ts';
import { benchDispatcher, benchGraphile, N, NullProvider, seedApproved, withDatabase, type Run } from './_dispatchShared.ts';

async function benchLag(url: string): Promise<{ p50: number; p99: number; count: number }> {
  const db = await openPostgres(url, silentLogger, 4);
  await migrate(db);
  const count = 1000;
  const start = Date.now() + 1500;
  await seedApproved(db, count, (i) => new Date(start + i * 10)); // 100 messages/s
  const ctx = { config: loadConfig({ LOG_LEVEL: 'silent', SCHEDULER_TICK_SECONDS: '0.05' }), db, log: silentLogger, clock: systemClock };
  const loop = new DispatchLoop(ctx, new Dispatcher(ctx, new NullProvider(), { batchSize: 100, concurrency: 16, bubbleGapMs: 0 }));
  const tick = setInterval(() => loop.kick(), 50);
  loop.kick();
  for (;;) {
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM campaign_messages WHERE status = 'approved'`);
    if (rows[0].n === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  clearInterval(tick);
  await loop.stop();
  const { rows } = await db.pool.query<{ lag: number }>(
    `SELECT extract(epoch FROM last_attempt_at - scheduled_send_time) * 1000 AS lag FROM campaign_messages ORDER BY 1`,
  );
  await db.close();
  const lags = rows.map((r) => Number(r.lag));
  const q = (p: number) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))]!;
  return { p50: q(0.5), p99: q(0.99), count: lags.length };
}

/** `bubbles`: every fifth message holds three bubbles (its slot needs room for them and the margin). */
function benchPlanner(bubbles = false): number {
  const zones = ['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles', 'Pacific/Honolulu'];
  const items = Array.from({ length: 100_000 }, (_, i) => ({
    id: i + 1,
    recipient: [{ zone: zones[i % 5]!, window: { start: 480, end: 1260 } }],
    spanMs: bubbles && i % 5 === 0 ? slotSpanMs(3, 3_000) : 0,
  }));
  const settings = {
    timezone: 'America/Los_Angeles', businessHours: { start: 540, end: 1200 }, businessDays: [1, 2, 3, 4, 5, 6],
    gapMinSeconds: 20, gapMaxSeconds: 40, skipProbability: 0.175, skipMinSeconds: 600, skipMaxSeconds: 900,
    ratePerMinute: 5, ratePerHour: 100, ratePerDay: 1000,
  };
  const t0 = performance.now();
  const r = planSlots({ settings, seed: 7, notBefore: Date.now(), items });
  const ms = performance.now() - t0;
  if (r.slots.length + r.unplaceable.length !== items.length) throw new Error('planner lost items');
  return ms;
}

const rows: [string, string, string][] = [];
const ours = await withDatabase(benchDispatcher);
const theirs = await withDatabase((url) => benchGraphile(url, 'noop'));
const theirsDefault = await withDatabase((url) => benchGraphile(url, 'noop', 'default'));
const theirSends = await withDatabase((url) => benchGraphile(url, 'send'));
const line = (label: string, r: Run): [string, string, string] => [
  label, `${Math.round(r.ms)} ms`, `${Math.round((N / r.ms) * 1000)}/s, WAL ${Math.round(r.walPerItem)} B each`,
];
rows.push(line(`dispatch ${N} messages (smsops)`, ours));
rows.push(line(`${N} no-op jobs (graphile-worker 0.17, batched mode)`, theirs));
rows.push(['throughput ratio smsops / graphile-worker no-op jobs, batched', `${(theirs.ms / ours.ms).toFixed(2)}x`, 'target >= 1.0x']);
rows.push(line(`${N} no-op jobs (graphile-worker 0.17, default config)`, theirsDefault));
rows.push(['throughput ratio smsops / graphile-worker no-op jobs, default', `${(theirsDefault.ms / ours.ms).toFixed(2)}x`, 'target >= 1.0x']);
rows.push(line(`${N} sends, one graphile-worker job each`, theirSends));
rows.push(['throughput ratio smsops / graphile-worker send jobs', `${(theirSends.ms / ours.ms).toFixed(2)}x`, 'same writes, committed per message']);
const lag = await withDatabase(benchLag);
rows.push([`due-time lag at 100 msg/s (${lag.count} msgs)`, `p50 ${Math.round(lag.p50)} ms`, `p99 ${Math.round(lag.p99)} ms (target < 100)`]);
const plan = benchPlanner();
rows.push(['plan 100k approvals (pure planner, cold)', `${Math.round(plan)} ms`, 'target < 1000 ms']);
const planBubbles = benchPlanner(true);
rows.push(['plan 100k approvals, a fifth with 3 bubbles', `${Math.round(planBubbles)} ms`, 'target < 1000 ms']);
const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) process.stdout.write(r.map((c, i) => c.padEnd(w[i]!)).join('  ') + '\n');
