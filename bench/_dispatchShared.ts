/**
 * What the dispatch benchmarks share: a fresh database per run on one PostgreSQL server
 * (DATABASE_URL, else TEST_DATABASE_URL, else the local
 * postgres://postgres:postgres@127.0.0.1:5432/postgres), the approved messages to send, a
 * provider that costs nothing, the WAL a run writes, and the peer: graphile-worker 0.17.
 * Not a benchmark itself (run.ts skips files starting with "_").
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
import type { OutboundSms, ProviderMessage, SentSms, SmsProvider } from '../src/sms/provider.ts';

/** Messages (and jobs) per run: `npx tsx bench/dispatch.ts [N]`. */
export const N = Number(process.argv[2] ?? 20_000);
const server = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
const ALWAYS_OPEN = {
  businessHours: { start: 0, end: 0 }, businessDays: [1, 2, 3, 4, 5, 6, 7], recipientQuietHours: null,
  ratePerMinute: 10_000_000, ratePerHour: 10_000_000, ratePerDay: 10_000_000,
};

/** Accepts everything at once, remembers nothing: measures the dispatcher, not a provider. */
export class NullProvider implements SmsProvider {
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

export async function withDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
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

export async function seedApproved(db: Awaited<ReturnType<typeof openPostgres>>, count: number, slots: (i: number) => Date): Promise<number> {
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

export interface Run {
  ms: number;
  /** WAL written per message or job: the server's write work, steadier than time on a busy machine. */
  walPerItem: number;
}

/** The server's WAL position: a run's WAL bytes are the difference of two. */
export async function walLsn(q: { query: pg.Pool['query'] }): Promise<string> {
  return (await q.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l;
}

export async function walSince(q: { query: pg.Pool['query'] }, lsn: string): Promise<number> {
  return Number((await q.query<{ d: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1) AS d', [lsn])).rows[0]!.d);
}

/** Our dispatcher sending N approved messages: caps raised, windows always open, the provider costs nothing. */
export async function benchDispatcher(url: string): Promise<Run> {
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
export async function benchGraphile(url: string, job: 'noop' | 'send', mode: 'batched' | 'default' = 'batched'): Promise<Run> {
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

