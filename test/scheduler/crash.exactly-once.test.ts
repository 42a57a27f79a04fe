/**
 * Exactly once under crashes and concurrency, on real PostgreSQL (PGlite serves one
 * connection, so these tests skip without TEST_DATABASE_URL): scheduler processes killed
 * with SIGKILL mid-batch (sending through the local outbox, and through Twilio's client to
 * the Twilio peer), two schedulers on one database, and a SIGTERM drain. Counted at the
 * provider (the outbox table, the peer): zero messages sent twice, zero lost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { TwilioPeer } from '../peers/twilio.ts';

const CHILD = fileURLToPath(new URL('./children/dispatch-child.ts', import.meta.url));
const ALWAYS_OPEN = {
  businessHours: { start: 0, end: 0 }, businessDays: [1, 2, 3, 4, 5, 6, 7], recipientQuietHours: null,
  ratePerMinute: 100_000, ratePerHour: 1_000_000, ratePerDay: 10_000_000,
};

function child(url: string, env: Record<string, string> = {}, args: string[] = []): ChildProcess & { done: Promise<number | null>; output: () => string } {
  const p = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
    env: { ...process.env, CHILD_DATABASE_URL: url, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (out += d));
  const done = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
  return Object.assign(p, { done, output: () => out });
}

const TWILIO_SID = 'AC0000000000000000000000000000000C';
const TWILIO_TOKEN = 'peer-auth-token';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!process.env.TEST_DATABASE_URL)('exactly once across crashes and processes (real PostgreSQL)', () => {
  let db: Database & { url?: string };
  beforeAll(async () => {
    db = await openTestDatabase('postgres', { max: 4 });
  });
  afterAll(() => db?.close());

  async function seed(name: string, count: number, body?: (i: number) => string): Promise<number[]> {
    const campaignId = await insertCampaign(db.pool, { name, settings: ALWAYS_OPEN });
    const ids: number[] = [];
    for (let i = 0; i < count; i++) {
      const c = await insertCustomer(db.pool, { phone: `+1415${String(3_000_000 + ids.length + count * name.length * 7).padStart(7, '0')}` });
      ids.push(await insertMessage(db.pool, { campaignId, status: 'approved', phone: c.phone, customerId: c.id, scheduledAt: new Date(Date.now() - 1000), body: body?.(i) }));
    }
    return ids;
  }

  /** Kills a scheduler child mid-batch `kills` times (at a random point while sends are in flight), then lets one finish. */
  async function killRepeatedly(ids: number[], kills: number, env: Record<string, string>): Promise<number> {
    let killedWhileSending = 0;
    for (let i = 0; i < kills; i++) {
      const p = child(db.url!, { CHILD_LATENCY_MS: '60', CHILD_BATCH: '8', ...env });
      // Wait for the child to be mid-batch (claimed, provider calls in flight), then kill it at a random point.
      for (let k = 0; k < 500 && !(await sendingNow(ids)); k++) await sleep(20);
      await sleep(Math.floor(Math.random() * 120));
      if (await sendingNow(ids)) killedWhileSending++;
      p.kill('SIGKILL');
      await p.done;
    }
    const last = child(db.url!, { CHILD_LATENCY_MS: '5', CHILD_BATCH: '50', ...env }, ['--until-idle']);
    expect(await last.done, last.output()).toBe(0);
    return killedWhileSending;
  }

  async function sendingNow(ids: number[]): Promise<boolean> {
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM campaign_messages WHERE status = 'sending' AND id = ANY($1::bigint[])`, [ids]);
    return rows[0].n > 0;
  }

  async function verdict(ids: number[]) {
    const { rows } = await db.pool.query<{ id: number; status: string; sends: number }>(
      `SELECT m.id, m.status, (SELECT count(*)::int FROM sms_outbox o WHERE o.message_id = m.id) AS sends
       FROM campaign_messages m WHERE m.id = ANY($1::bigint[])`,
      [ids],
    );
    return {
      twice: rows.filter((r) => r.sends > 1).length,
      unsettled: rows.filter((r) => !['sent', 'delivered', 'failed', 'cancelled', 'needs_review'].includes(r.status)).length,
      sentWithoutRecord: rows.filter((r) => r.sends === 1 && !['sent', 'delivered'].includes(r.status)).length,
      delivered: rows.filter((r) => r.status === 'delivered' && r.sends === 1).length,
      other: rows.filter((r) => r.status !== 'delivered').map((r) => `${r.status}:${r.sends}`),
    };
  }

  it('survives 20 SIGKILLs mid-batch: nothing sent twice, nothing lost', async () => {
    const ids = await seed('kill9', 150);
    const killedWhileSending = await killRepeatedly(ids, 20, {});
    const v = await verdict(ids);
    expect(killedWhileSending).toBeGreaterThan(5);
    expect(v).toEqual({ twice: 0, unsettled: 0, sentWithoutRecord: 0, delivered: 150, other: [] });
  }, 300_000);

  // Killed mid-call, a send's outcome is found in Twilio's list, which keeps the texts as
  // Smart Encoding made them: curly quotes and dashes plain. Counted at the Twilio peer.
  it('survives 20 SIGKILLs mid-batch against Twilio keeping texts Smart-Encoded: nothing sent twice, nothing lost', async () => {
    const peer = await new TwilioPeer(TWILIO_SID, TWILIO_TOKEN, { latencyMs: 60 }).start();
    peer.keptText = 'smart_encoded';
    try {
      const body = (i: number) => `Hi Sam \u2014 it\u2019s \u201c10% off\u201d for you, code ${1000 + i}. Reply STOP to opt out`;
      const ids = await seed('kill9twilio', 100, body);
      const killedWhileSending = await killRepeatedly(ids, 20, { CHILD_TWILIO_URL: peer.url, CHILD_TWILIO_SID: TWILIO_SID, CHILD_TWILIO_TOKEN: TWILIO_TOKEN });
      expect(killedWhileSending).toBeGreaterThan(5);
      const { rows } = await db.pool.query<{ id: number; status: string; body: string; provider_message_id: string | null }>(
        'SELECT id, status, body, provider_message_id FROM campaign_messages WHERE id = ANY($1::bigint[]) ORDER BY id',
        [ids],
      );
      const smsOf = (text: string) => peer.messages.filter((m) => m.submitted === text);
      expect(peer.messages.some((m) => m.body !== m.submitted), 'the peer kept texts Smart-Encoded').toBe(true);
      expect(rows.filter((r) => smsOf(r.body).length !== 1).map((r) => `${r.id}: ${smsOf(r.body).length} SMS`)).toEqual([]);
      // Each is recorded sent with its own SMS.
      expect(rows.filter((r) => r.status !== 'sent' || r.provider_message_id !== smsOf(r.body)[0]!.sid).map((r) => `${r.id}: ${r.status}`)).toEqual([]);
    } finally {
      await peer.stop();
    }
  }, 300_000);

  it('two scheduler processes on one database never send a message twice', async () => {
    const ids = await seed('pair', 300);
    const a = child(db.url!, { CHILD_LATENCY_MS: '4', CHILD_BATCH: '10', CHILD_LEASE_MS: '20000' }, ['--until-idle']);
    const b = child(db.url!, { CHILD_LATENCY_MS: '4', CHILD_BATCH: '10', CHILD_LEASE_MS: '20000' }, ['--until-idle']);
    expect([await a.done, await b.done]).toEqual([0, 0]);
    expect(await verdict(ids)).toEqual({ twice: 0, unsettled: 0, sentWithoutRecord: 0, delivered: 300, other: [] });
  }, 180_000);

  it('SIGTERM drains in-flight sends and exits cleanly', async () => {
    const ids = await seed('term', 40);
    const p = child(db.url!, { CHILD_LATENCY_MS: '400', CHILD_BATCH: '8', CHILD_LEASE_MS: '600000' });
    let inFlight = 0;
    for (let i = 0; i < 100 && inFlight === 0; i++) {
      const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM campaign_messages WHERE status = 'sending' AND id = ANY($1::bigint[])`, [ids]);
      inFlight = rows[0].n;
      if (inFlight === 0) await sleep(100);
    }
    expect(inFlight, 'a send was in flight when SIGTERM came').toBeGreaterThan(0);
    p.kill('SIGTERM');
    expect(await p.done).toBe(0);
    expect(p.output()).toContain('drained');
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM campaign_messages WHERE status IN ('sending', 'unknown') AND id = ANY($1::bigint[])`, [ids]);
    expect(rows[0].n).toBe(0);
    expect((await verdict(ids)).twice).toBe(0);
  }, 120_000);
});
