/**
 * What the dispatcher's writes cost on their own, and what another shape of them would buy:
 * the evidence for the throughput decision (graphile-worker's batched no-op jobs are the
 * target). Side by side on one PostgreSQL server, N messages each, two loops of batches of
 * 500 (as the dispatcher bench runs):
 * 1. the dispatcher itself (every check, card and progress post);
 * 2. its writes alone, through the same query modules: lock the due rows, claim them
 *    (approved -> sending), record them (sending -> sent, with the audit row); no checks,
 *    no cap count, no posts. The floor of the current design;
 * 3. a narrow claims table instead (a design not built): the same due query, then the claim
 *    inserts a row there and leaves the message alone; the record deletes it and moves the
 *    message once (approved -> sent), so the wide message row and its nine indexes are
 *    written once. Bare too, and without what the design would need elsewhere (see claimsTable);
 * 4. the same without the audit row of each send (which the audit rule forbids);
 * and graphile-worker 0.17 running N no-op jobs in its batched mode.
 * `npx tsx bench/dispatch-shapes.ts [N]`
 */
import { openPostgres, type Queryable } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { transitionMessages } from '../src/db/queries/transition.ts';
import { silentLogger } from '../src/log.ts';
import { lockDueCandidates } from '../src/scheduler/queries.ts';
import { benchDispatcher, benchGraphile, N, seedApproved, walLsn, walSince, withDatabase, type Run } from './_dispatchShared.ts';

const BATCH = 500;
interface Claim {
  id: number;
  attempts: number;
}
interface Shape {
  /** DDL the shape needs beyond the migrations. */
  setup?: string;
  claim(c: Queryable, now: Date): Promise<Claim[]>;
  record(c: Queryable, claims: Claim[], now: Date): Promise<void>;
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

/**
 * A narrow claims table (hand-written SQL: not built). Same work as `current` where the
 * design allows: the due query of lockDueCandidates (campaign active, test mode, the joins
 * the checks read) plus the anti-join this design needs, then a claim statement; the record
 * takes per-row values as JSON, as transitionMessages does. What it would cost beyond this:
 * a message stays `approved` while it is sent, so every reader of `sending` (cancel, STOP,
 * caps, reconciliation, progress) would have to read the claims table too; left out here.
 */
function claimsTable(audit: boolean): Shape {
  return {
    setup: `CREATE TABLE send_claims (message_id bigint PRIMARY KEY, attempts integer NOT NULL, claimed_at timestamptz NOT NULL)`,
    async claim(c, now) {
      const { rows: due } = await c.query<{ id: number; attempts: number }>(
        `WITH due AS (
           SELECT m.id, m.attempts, m.campaign_id, m.customer_id, m.phone, m.scheduled_send_time
           FROM campaign_messages m
           WHERE m.status = 'approved' AND m.scheduled_send_time <= $1
             AND NOT EXISTS (SELECT 1 FROM send_claims s WHERE s.message_id = m.id)
             AND (m.campaign_id = ANY (ARRAY(SELECT id FROM campaigns WHERE status = 'active' AND NOT test_mode))
                  OR (m.campaign_id, m.phone) IN (SELECT id, unnest(test_numbers) FROM campaigns WHERE status = 'active' AND test_mode))
           ORDER BY m.scheduled_send_time, m.id
           LIMIT $2
           FOR UPDATE OF m SKIP LOCKED
         )
         SELECT due.id, due.attempts, c.settings, cu.consent_status, cu.timezone, cu.state, coalesce(cs.status = 'opted_out', false) AS opted_out
         FROM due JOIN campaigns c ON c.id = due.campaign_id
         LEFT JOIN customers cu ON cu.id = due.customer_id
         LEFT JOIN contact_status cs ON cs.phone = due.phone
         ORDER BY due.scheduled_send_time, due.id`,
        [now, BATCH],
      );
      // The primary key fences two claims of one message (a row unlocked by a committed claim can be locked again).
      const { rows } = await c.query<Claim>(
        `INSERT INTO send_claims SELECT id, attempts + 1, $3 FROM unnest($1::bigint[], $2::int[]) AS v(id, attempts)
         ON CONFLICT DO NOTHING RETURNING message_id AS id, attempts`,
        [due.map((d) => d.id), due.map((d) => d.attempts), now],
      );
      return rows;
    },
    async record(c, claims, now) {
      const rows = claims.map((m) => ({ id: m.id, fence: m.attempts, provider_message_id: `SM${m.id}`, extra_provider_ids: [] as string[], last_attempt_at: now }));
      await c.query(
        `WITH v AS (SELECT * FROM jsonb_to_recordset($1::jsonb)
                    AS v(id bigint, fence integer, provider_message_id text, extra_provider_ids text[], last_attempt_at timestamptz)),
         -- The messages first, then their claims: a claim locks a message and then inserts its
         -- claim, so the other order deadlocks with a claim that locked a message just released.
         moved AS (UPDATE campaign_messages m SET status = 'sent', attempts = s.attempts, provider_message_id = v.provider_message_id,
                     extra_provider_ids = v.extra_provider_ids, last_attempt_at = v.last_attempt_at, provider = 'null', sent_at = $2,
                     version = m.version + 1, updated_at = now()
                   FROM v JOIN send_claims s ON s.message_id = v.id AND s.attempts = v.fence
                   WHERE m.id = v.id AND m.status = 'approved' RETURNING m.id, m.attempts),
         done AS (DELETE FROM send_claims s USING moved WHERE s.message_id = moved.id)
         ${audit
           ? `INSERT INTO audit_log (actor, surface, action, entity_type, entity_id, before, after)
              SELECT 'scheduler', 'system', 'sent', 'message', id::text, '{"status": "approved"}', jsonb_build_object('status', 'sent', 'attempts', attempts) FROM moved`
           : 'SELECT 1'}`,
        [JSON.stringify(rows), now],
      );
    },
  };
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
      const claims = await db.tx((c) => shape.claim(c, new Date()));
      if (claims.length === 0) return;
      await db.tx((c) => shape.record(c, claims, new Date()));
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
