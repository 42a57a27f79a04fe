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
import { randomBytes } from 'node:crypto';
import { Logger, makeWorkerUtils, run } from 'graphile-worker';
import pg from 'pg';
import { systemClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { openPostgres } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { transitionMessage } from '../src/db/queries/transition.ts';
import { silentLogger } from '../src/log.ts';
import { Dispatcher } from '../src/scheduler/dispatcher.ts';
import { DispatchLoop } from '../src/scheduler/index.ts';
import { planSlots } from '../src/scheduler/plan.ts';
import { slotSpanMs } from '../src/scheduler/recipients.ts';
import type { OutboundSms, ProviderMessage, SentSms, SmsProvider } from '../src/sms/provider.ts';

const N = Number(process.argv[2] ?? 20_000);
const server = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
const ALWAYS_OPEN = {
  businessHours: { start: 0, end: 0 }, businessDays: [1, 2, 3, 4, 5, 6, 7], recipientQuietHours: null,
  ratePerMinute: 10_000_000, ratePerHour: 10_000_000, ratePerDay: 10_000_000,
};

/** Accepts everything at once, remembers nothing: measures the dispatcher, not a provider. */
class NullProvider implements SmsProvider {
  readonly name = 'null';
  private n = 0;
  // Unique within the run (each run gets a fresh database); no random bytes, so the provider costs nothing.
  private readonly prefix = `SMnull${process.pid}x`;
  async send(_m: OutboundSms): Promise<SentSms> {
    return { providerMessageId: `${this.prefix}${++this.n}`, acceptedAt: new Date(), status: 'queued' };
  }
  async listSent(): Promise<ProviderMessage[]> {
    return [];
  }
}

async function withDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const name = `smsops_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(server);
  u.pathname = '/' + name;
  try {
    return await fn(u.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

async function seedApproved(db: Awaited<ReturnType<typeof openPostgres>>, count: number, slots: (i: number) => Date): Promise<number> {
  const { rows } = await db.pool.query(`INSERT INTO campaigns (name, status, settings) VALUES ($1, 'active', $2) RETURNING id`, [
    `bench-${randomBytes(3).toString('hex')}`, JSON.stringify(ALWAYS_OPEN),
  ]);
  const campaignId = rows[0].id as number;
  const times = Array.from({ length: count }, (_, i) => slots(i));
  await db.pool.query(
    `INSERT INTO campaign_messages (campaign_id, phone, body, status, approved_by, approved_at, scheduled_send_time)
     SELECT $1, '+1415' || lpad((2000000 + i)::text, 7, '0'), 'Hi! We miss you. Reply STOP to opt out', 'approved', 'bench', now(), t
     FROM unnest($2::timestamptz[]) WITH ORDINALITY AS x(t, i)`,
    [campaignId, times],
  );
  return campaignId;
}

interface Run {
  ms: number;
  /** WAL written per message or job: the server's write work, steadier than time on a busy machine. */
  walPerItem: number;
}

/** The server's WAL position: a run's WAL bytes are the difference of two. */
async function walLsn(q: { query: pg.Pool['query'] }): Promise<string> {
  return (await q.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l;
}

async function walSince(q: { query: pg.Pool['query'] }, lsn: string): Promise<number> {
  return Number((await q.query<{ d: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1) AS d', [lsn])).rows[0]!.d);
}

async function benchDispatcher(url: string): Promise<Run> {
  const db = await openPostgres(url, silentLogger, 4);
  await migrate(db);
  await seedApproved(db, N, () => new Date(Date.now() - 1000));
  await db.pool.query('ANALYZE'); // statistics as a live database has them (same for both sides)
  const ctx = { config: loadConfig({ LOG_LEVEL: 'silent' }), db, log: silentLogger, clock: systemClock };
  const d = new Dispatcher(ctx, new NullProvider(), { batchSize: 500, concurrency: 16, bubbleGapMs: 0 });
  const lsn = await walLsn(db.pool);
  const t0 = performance.now();
  const { sent } = await d.sendDue();
  const ms = performance.now() - t0;
  const wal = await walSince(db.pool, lsn);
  await db.close();
  if (sent !== N) throw new Error(`dispatcher sent ${sent} of ${N}`);
  return { ms, walPerItem: wal / N };
}

/**
 * graphile-worker 0.17 at the same concurrency, running N jobs: in its batched mode (local
 * queue of 500, batched completions; opt-in, its fastest) or as configured out of the box
 * (a job fetched and completed at a time). `task` is the job: a no-op (the queue's own cost,
 * the target), or one message's send done the way a graphile-based dispatcher would do it.
 */
async function benchGraphile(url: string, job: 'noop' | 'send', mode: 'batched' | 'default' = 'batched'): Promise<Run> {
  // Our own pool, so a connection error (the database is dropped WITH (FORCE) at the end)
  // is an event we listen to, not an uncaught one that ends the run.
  const pgPool = new pg.Pool({ connectionString: url, max: 18 });
  pgPool.on('error', () => undefined);
  pgPool.on('connect', (client) => client.on('error', () => undefined));
  const utils = await makeWorkerUtils({ pgPool, logger: new Logger(() => () => undefined) });
  await utils.migrate();
  let db: Awaited<ReturnType<typeof openPostgres>> | null = null;
  let jobs: Record<string, unknown>[] = Array.from({ length: N }, () => ({}));
  if (job === 'send') {
    db = await openPostgres(url, silentLogger, 16);
    await migrate(db);
    const campaignId = await seedApproved(db, N, () => new Date(Date.now() - 1000));
    // Everything the send needs rides in the job, as a queue-based dispatcher would put it there.
    const { rows } = await db.pool.query<{ id: number; phone: string; body: string }>(
      'SELECT id, phone, body FROM campaign_messages WHERE campaign_id = $1 ORDER BY id', [campaignId],
    );
    jobs = rows.map((r) => ({ id: Number(r.id), phone: r.phone, body: r.body }));
  }
  for (let i = 0; i < N; i += 5000) {
    await utils.addJobs(jobs.slice(i, i + 5000).map((payload) => ({ identifier: job, payload })));
  }
  await utils.release();
  await pgPool.query('ANALYZE'); // statistics as a live database has them (same for both sides)
  const sms = new NullProvider();
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const lsn = await walLsn(pgPool);
  const t0 = performance.now();
  const runner = await run({
    pgPool,
    concurrency: 16,
    noHandleSignals: true,
    pollInterval: 100,
    taskList: {
      noop: async () => {
        if (++done === N) finish();
      },
      // The same guarded transitions as the dispatcher, one message per job; no opt-out, window
      // or cap checks (those favour this side).
      send: async (payload) => {
        const { id, phone, body } = payload as { id: number; phone: string; body: string };
        const who = { actor: 'scheduler', surface: 'system' } as const;
        const claim = await transitionMessage(db!.pool, {
          id, from: 'approved', to: 'sending', bumpAttempts: true, audit: false, ...who, set: { last_attempt_at: new Date() },
        });
        if (!claim.ok) throw new Error(`message ${id} was not approved`);
        const sent = await sms.send({ to: phone, body, messageId: id, bubble: 0 });
        await transitionMessage(db!.pool, {
          id, from: 'sending', to: 'sent', attempts: claim.row.attempts, ...who,
          set: { provider_message_id: sent.providerMessageId, sent_at: new Date(), provider: sms.name },
        });
        if (++done === N) finish();
      },
    },
    preset: { worker: mode === 'batched' ? { localQueue: { size: 500 }, completeJobBatchDelay: 0, maxPoolSize: 18 } : { maxPoolSize: 18 } },
    logger: new Logger(() => () => undefined),
  });
  await finished;
  const ms = performance.now() - t0;
  await runner.stop();
  const wal = await walSince(pgPool, lsn);
  await db?.close();
  await pgPool.end();
  return { ms, walPerItem: wal / N };
}

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
