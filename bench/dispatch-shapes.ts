/**
 * What the dispatcher's writes cost on their own, and what another shape of them would buy:
 * the evidence for the throughput decision (graphile-worker's batched no-op jobs are the
 * target). Side by side on one PostgreSQL server, N messages each, two loops of batches of
 * 500 (as the dispatcher bench runs):
 * 1. the dispatcher itself (every check, card and progress post);
 * 2. its writes alone, through the same query modules: lock the due rows, claim them
 *    (approved -> sending), record them (sending -> sent, with the audit row); no checks,
 *    no cap count, no posts. The floor of the current design;
 * 3. a narrow claims table instead (a design not built): the claim inserts a row there and
 *    leaves the message alone, the record deletes it and moves the message once
 *    (approved -> sent), so the wide message row and its nine indexes are written once;
 * 4. the same without the audit row of each send;
 * and graphile-worker 0.17 running N no-op jobs in its batched mode.
 * `npx tsx bench/dispatch-shapes.ts [N]`
 */
import type pg from 'pg';
import { openPostgres } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { transitionMessages } from '../src/db/queries/transition.ts';
import { silentLogger } from '../src/log.ts';
import { lockDueCandidates } from '../src/scheduler/queries.ts';
import { benchDispatcher, benchGraphile, N, seedApproved, walLsn, walSince, withDatabase, type Run } from './_dispatchShared.ts';

const BATCH = 500;
type Client = pg.PoolClient;
interface Claim {
  id: number;
  attempts: number;
}
interface Shape {
  /** DDL the shape needs beyond the migrations. */
  setup?: string;
  claim(c: Client, now: Date): Promise<Claim[]>;
  record(c: Client, claims: Claim[], now: Date): Promise<void>;
}

const who = { actor: 'scheduler', surface: 'system' } as const;

/** The dispatcher's own writes, through its query modules. */
const current: Shape = {
  async claim(c, now) {
    const due = await lockDueCandidates(c, now, BATCH);
    const r = await transitionMessages(c, {
      ids: due.map((d) => Number(d.id)), from: 'approved', to: 'sending', bumpAttempts: true, audit: false, ...who,
      set: { last_attempt_at: now },
    });
    return r.moved;
  },
  async record(c, claims, now) {
    await transitionMessages(c, {
      rows: claims.map((m) => ({ id: m.id, attempts: m.attempts, set: { provider_message_id: `SM${m.id}`, extra_provider_ids: [], last_attempt_at: now } })),
      from: 'sending', to: 'sent', ...who, set: { sent_at: now, provider: 'null' },
    });
  },
};

/** A narrow claims table (hand-written SQL: not built). The primary key fences two claims of one message. */
function claimsTable(audit: boolean): Shape {
  return {
    setup: `CREATE TABLE send_claims (message_id bigint PRIMARY KEY, attempts integer NOT NULL, claimed_at timestamptz NOT NULL)`,
    async claim(c, now) {
      const { rows } = await c.query<Claim>(
        `WITH due AS (
           SELECT m.id, m.attempts FROM campaign_messages m
           WHERE m.status = 'approved' AND m.scheduled_send_time <= $1
             AND NOT EXISTS (SELECT 1 FROM send_claims s WHERE s.message_id = m.id)
           ORDER BY m.scheduled_send_time, m.id LIMIT $2 FOR UPDATE SKIP LOCKED)
         INSERT INTO send_claims SELECT id, attempts + 1, $1 FROM due ON CONFLICT DO NOTHING
         RETURNING message_id AS id, attempts`,
        [now, BATCH],
      );
      return rows;
    },
    async record(c, claims, now) {
      await c.query(
        `WITH v AS (SELECT * FROM unnest($1::bigint[], $2::int[]) AS v(id, fence)),
         done AS (DELETE FROM send_claims s USING v WHERE s.message_id = v.id AND s.attempts = v.fence
                  RETURNING s.message_id, s.attempts, s.claimed_at),
         moved AS (UPDATE campaign_messages m SET status = 'sent', attempts = done.attempts, provider_message_id = 'SM' || m.id,
                     provider = 'null', sent_at = $3, last_attempt_at = done.claimed_at, version = m.version + 1, updated_at = now()
                   FROM done WHERE m.id = done.message_id AND m.status = 'approved' RETURNING m.id, m.attempts)
         ${audit
           ? `INSERT INTO audit_log (actor, surface, action, entity_type, entity_id, before, after)
              SELECT 'scheduler', 'system', 'sent', 'message', id::text, '{"status": "approved"}', jsonb_build_object('status', 'sent', 'attempts', attempts) FROM moved`
           : 'SELECT 1'}`,
        [claims.map((m) => m.id), claims.map((m) => m.attempts), now],
      );
    },
  };
}

async function tx<T>(pool: pg.Pool, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const r = await fn(c);
    await c.query('COMMIT');
    return r;
  } catch (e) {
    await c.query('ROLLBACK');
    throw e;
  } finally {
    c.release();
  }
}

async function benchShape(url: string, shape: Shape): Promise<Run> {
  const db = await openPostgres(url, silentLogger, 4);
  await migrate(db);
  if (shape.setup) await db.pool.query(shape.setup);
  await seedApproved(db, N, () => new Date(Date.now() - 1000));
  await db.pool.query('ANALYZE');
  let sent = 0;
  const loop = async (): Promise<void> => {
    for (;;) {
      const claims = await tx(db.pool, (c) => shape.claim(c, new Date()));
      if (claims.length === 0) return;
      await tx(db.pool, (c) => shape.record(c, claims, new Date()));
      sent += claims.length;
    }
  };
  const lsn = await walLsn(db.pool);
  const t0 = performance.now();
  await Promise.all([loop(), loop()]);
  const ms = performance.now() - t0;
  const wal = await walSince(db.pool, lsn);
  const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM campaign_messages WHERE status = 'sent'`);
  await db.close();
  if (sent !== N || rows[0]!.n !== N) throw new Error(`shape recorded ${sent} (${rows[0]!.n} sent) of ${N}`);
  return { ms, walPerItem: wal / N };
}

const target = await withDatabase((url) => benchGraphile(url, 'noop'));
const runs: [string, Run][] = [
  ['the dispatcher (every check and post)', await withDatabase(benchDispatcher)],
  ['its writes alone (lock, claim, record + audit)', await withDatabase((url) => benchShape(url, current))],
  ['narrow claims table, bare (not built)', await withDatabase((url) => benchShape(url, claimsTable(true)))],
  ['narrow claims table, bare, no audit row (not built)', await withDatabase((url) => benchShape(url, claimsTable(false)))],
];
const rows: string[][] = [
  ['case', 'throughput', 'WAL each', 'ratio to graphile-worker batched no-op jobs'],
  [`${N} no-op jobs (graphile-worker 0.17, batched mode)`, `${Math.round((N / target.ms) * 1000)}/s`, `${Math.round(target.walPerItem)} B`, '1.00x'],
  ...runs.map(([label, r]) => [label, `${Math.round((N / r.ms) * 1000)}/s`, `${Math.round(r.walPerItem)} B`, `${(target.ms / r.ms).toFixed(2)}x`]),
];
const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) process.stdout.write(r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd() + '\n');
