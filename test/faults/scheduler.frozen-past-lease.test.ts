/**
 * A scheduler process frozen (SIGSTOP) in the middle of a provider call, past its sending
 * lease, while a second process takes its work over; then thawed (SIGCONT). The thawed
 * process must not overwrite what the newer attempt recorded (fence by attempt number),
 * and nothing is sent twice. SIGKILLed processes are covered by
 * test/scheduler/crash.exactly-once.test.ts; this is the case a kill cannot produce: a
 * sender that comes back. The last case freezes a process inside its claim transaction,
 * whose locks only PostgreSQL can take back (idle_in_transaction_session_timeout).
 *
 * The freeze is placed exactly: a small proxy between process A and the Twilio peer
 * forwards A's request for the victim's number, freezes A, and only then writes the answer
 * into A's socket. Needs real PostgreSQL (two processes on one database).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { Database } from '../../src/db/database.ts';
import { CAPS_LOCK, lockCampaignCaps } from '../../src/scheduler/queries.ts';
import { openTestDatabase } from '../support/db.ts';
import { TwilioPeer } from '../peers/twilio.ts';
import { checkInvariants, expectNoViolations, peerSends } from './support/invariants.ts';
import { seedApproved, settled, sleep, spawnScheduler, statusCounts, waitUntil, type Child } from './support/harness.ts';

const SID = 'AC00000000000000000000000000000fb2';
const TOKEN = 'fault-token';

/** Forwards to the peer; on the armed recipient, freezes `target` before answering. */
class FreezingProxy {
  private server!: Server;
  url = '';
  armed: { to: string; target: () => Child; onFrozen: () => void } | null = null;
  constructor(private readonly upstream: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const upstream = await fetch(this.upstream + req.url, {
          method: req.method,
          headers: { authorization: req.headers.authorization ?? '', 'content-type': req.headers['content-type'] ?? 'application/x-www-form-urlencoded' },
          ...(req.method === 'POST' ? { body } : {}),
        });
        const text = await upstream.text();
        const armed = this.armed;
        if (armed && req.method === 'POST' && new URLSearchParams(body).get('To') === armed.to) {
          this.armed = null;
          armed.target().kill('SIGSTOP');
          armed.onFrozen();
        }
        res.writeHead(upstream.status, { 'content-type': 'application/json' });
        res.end(text);
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe.skipIf(!process.env.TEST_DATABASE_URL)('a frozen scheduler thawed after another took its work', () => {
  let db: Database & { url?: string };
  let peer: TwilioPeer;
  let proxy: FreezingProxy;
  beforeAll(async () => {
    db = await openTestDatabase('postgres', { max: 2 });
    peer = await new TwilioPeer(SID, TOKEN).start();
    proxy = await new FreezingProxy(peer.url).start();
  });
  afterAll(async () => {
    await proxy?.stop();
    await peer?.stop();
    await db?.close();
  });

  const childEnv = (url: string, extra: Record<string, string> = {}) => ({
    CHILD_DATABASE_URL: db.url!, CHILD_TWILIO_URL: url, CHILD_TWILIO_SID: SID, CHILD_TWILIO_TOKEN: TOKEN,
    CHILD_BATCH: '10', CHILD_LEASE_MS: '1500', CHILD_SETTLE_MS: '300', CHILD_TIMEOUT_MS: '30000', ...extra,
  });
  const victimRow = async (id: number) =>
    (await db.pool.query<{ status: string; attempts: number; provider_message_id: string | null; phone: string }>(
      'SELECT status, attempts, provider_message_id, phone FROM campaign_messages WHERE id = $1', [id],
    )).rows[0]!;

  it.each([
    ['refused (500) before the freeze: the takeover sends a newer attempt, the thawed "unknown" write is fenced out', 'refused', 1],
    ['accepted before the freeze: the takeover finds it at the provider, the thawed "sent" write is fenced out', 'accepted', 0],
  ] as const)('%s', async (_label, mode, extraAttempts) => {
    const { campaignId, ids } = await seedApproved(db.pool, { name: `frozen-${mode}`, n: 25, phoneBase: mode === 'refused' ? 2_000_000 : 2_100_000, firstAt: new Date(Date.now() - 2000) });
    const victim = ids[0]!;
    const { phone } = await victimRow(victim);
    if (mode === 'refused') peer.failFor(phone, 'http500');

    let frozen = false;
    let a: Child | undefined;
    let b: Child | undefined;
    try {
      proxy.armed = { to: phone, target: () => a!, onFrozen: () => (frozen = true) };
      // One provider call at a time, so the victim's is the only one in flight at the freeze.
      // With more, A's other calls can be frozen after the lease check and before their
      // request is written (opening a connection took 3-11 ms here); thawed, they go out
      // after the takeover re-sent them. That is the one window no client-side check closes
      // (README, Sending); this case is about the fence on A's late writes.
      // A frozen inside its other claim (pipelined) is ended by PostgreSQL after 3 s.
      a = spawnScheduler(childEnv(proxy.url, { CHILD_CONCURRENCY: '1', CHILD_IDLE_TX_MS: '3000' }));
      await waitUntil(async () => frozen, 30_000, 'process A frozen inside its provider call').catch((e) => {
        throw new Error(`${e}\nrequests at the peer: ${peer.requests.length}\n${a!.output()}`);
      });
      peer.failFor(phone, null);
      const atFreeze = await victimRow(victim);
      expect(atFreeze.status).toBe('sending');
      const postsBefore = peer.requests.filter((r) => r.method === 'POST' && r.params.To === phone).length;

      // A frozen inside its other (pipelined) claim holds that campaign's turn until PostgreSQL
      // ends it (3 s); B starts after, so its first claim does not wait past half its lease.
      await waitUntil(async () => (await db.pool.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'`,
      )).rowCount === 0, 30_000, "A's frozen transactions to be ended");
      // B takes over once A's lease (1.5 s) has run out.
      b = spawnScheduler(childEnv(peer.url));
      await waitUntil(() => settled(db.pool, campaignId), 60_000, 'process B to settle everything');
      const taken = await victimRow(victim);
      expect(taken).toMatchObject({ status: 'sent', attempts: atFreeze.attempts + extraAttempts });

      // Thaw A: its answer for the victim arrives now, for a claim that is no longer its own.
      a.kill('SIGCONT');
      await sleep(1500);
      expect(a.alive(), a.output()).toBe(true);
      expect(await victimRow(victim)).toEqual(taken);
      const atPeer = peer.messages.filter((m) => m.to === phone);
      expect(atPeer).toHaveLength(1);
      expect(taken.provider_message_id).toBe(atPeer[0]!.sid);
      expect(peer.requests.filter((r) => r.method === 'POST' && r.params.To === phone)).toHaveLength(postsBefore + extraAttempts);

      a.kill('SIGTERM');
      b.kill('SIGTERM');
      expect([await a.done, await b.done]).toEqual([0, 0]);
      const report = await checkInvariants(db.pool, { config: loadConfig({ LOG_LEVEL: 'silent' }), sends: peerSends(peer.messages), campaignIds: [campaignId] });
      expectNoViolations(report, 25);
      console.log(`[faults] frozen sender (${mode}): 1 SIGSTOP past the lease + SIGCONT; checked ${report.checked}, provider sends ${report.providerSends}, lost ${report.lost}, twice ${report.sentTwice}`);
    } finally {
      for (const c of [a, b]) {
        if (c?.alive()) {
          c.kill('SIGCONT');
          c.kill('SIGKILL');
          await c.done;
        }
      }
    }
  });

  // A process frozen with a transaction open holds its locks for as long as it stays frozen:
  // here a claim that has locked its batch and holds the campaign's cap turn, which every
  // other scheduler's claim of that campaign waits for. PostgreSQL ends the idle session
  // (idle_in_transaction_session_timeout), the claim rolls back, and the others go on.
  it('frozen inside a claim transaction: PostgreSQL ends it, the other process sends everything once', async () => {
    const n = 40;
    const { campaignId } = await seedApproved(db.pool, { name: 'frozen-claim', n, phoneBase: 2_200_000, firstAt: new Date(Date.now() - 2000) });
    const capsLocks = async (granted: boolean) =>
      (await db.pool.query<{ pid: number; state: string }>(
        `SELECT l.pid, a.state FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2 AND l.granted = $3
         ORDER BY a.query_start`,
        [CAPS_LOCK, campaignId, granted],
      )).rows;

    // Hold the campaign's cap turn, so A's first claim, then B's, stop right there (each with
    // its batch locked). PostgreSQL grants the turn in the order asked: A first, B behind it.
    const holder = await db.pool.connect();
    let a: Child | undefined;
    let b: Child | undefined;
    try {
      await holder.query('BEGIN');
      await lockCampaignCaps(holder, [campaignId]);
      // Leases long enough that B's claim, delayed by the wait, still sends (it stops past half a lease).
      a = spawnScheduler(childEnv(peer.url, { CHILD_IDLE_TX_MS: '4000', CHILD_LEASE_MS: '20000' }));
      const waiting = (await waitUntil(async () => (await capsLocks(false))[0], 30_000, 'process A to wait for the campaign turn inside its claim'))!;
      b = spawnScheduler(childEnv(peer.url, { CHILD_LEASE_MS: '20000' }));
      await waitUntil(async () => (await capsLocks(false)).some((w) => w.pid !== waiting.pid), 30_000, "process B to wait behind A's claim");
      a.kill('SIGSTOP');
      await holder.query('COMMIT');
      // A's backend takes the turn and answers into a socket nobody reads: idle in a transaction, B still waiting.
      await waitUntil(async () => (await capsLocks(true)).some((h) => h.pid === waiting.pid && h.state === 'idle in transaction'), 3_000, "A's claim to hold the turn, frozen");
      expect((await capsLocks(false)).length).toBe(1);
      await waitUntil(() => settled(db.pool, campaignId), 60_000, 'process B to settle everything').catch(async (e) => {
        throw new Error(`${e}\nstatuses: ${JSON.stringify(await statusCounts(db.pool, campaignId))}\nB:\n${b!.output()}`);
      });
      expect(await statusCounts(db.pool, campaignId)).toEqual({ sent: n });
      // A's claim never committed: every message went out on its first recorded attempt.
      const { rows } = await db.pool.query<{ attempts: number }>('SELECT DISTINCT attempts FROM campaign_messages WHERE campaign_id = $1', [campaignId]);
      expect(rows).toEqual([{ attempts: 1 }]);

      a.kill('SIGCONT');
      await sleep(1500);
      expect(a.alive(), a.output()).toBe(true);
      a.kill('SIGTERM');
      b.kill('SIGTERM');
      expect([await a.done, await b.done]).toEqual([0, 0]);
      const report = await checkInvariants(db.pool, { config: loadConfig({ LOG_LEVEL: 'silent' }), sends: peerSends(peer.messages), campaignIds: [campaignId] });
      expectNoViolations(report, n);
      console.log(`[faults] frozen claim: 1 SIGSTOP inside a claim transaction, ended by PostgreSQL after 4 s; checked ${report.checked}, provider sends ${report.providerSends}, lost ${report.lost}, twice ${report.sentTwice}`);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
      for (const c of [a, b]) {
        if (c?.alive()) {
          c.kill('SIGCONT');
          c.kill('SIGKILL');
          await c.done;
        }
      }
    }
  });
});
