/**
 * A soak: approved messages through two scheduler processes on one database at the
 * highest caps, sent with the real twilio client to the local Twilio peer, then counted at
 * both ends: every message sent exactly once, none lost. CI runs 10k (FAULTS_SOAK sets the
 * size; 50k was measured once, see the report). Needs real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { Database } from '../../src/db/database.ts';
import { openTestDatabase } from '../support/db.ts';
import { TwilioPeer } from '../peers/twilio.ts';
import { checkInvariants, expectNoViolations, peerSends } from './support/invariants.ts';
import { seedApproved, settled, spawnScheduler, statusCounts, waitUntil, type Child } from './support/harness.ts';

const SID = 'AC00000000000000000000000000000ff6';
const TOKEN = 'soak-token';
const N = Number(process.env.FAULTS_SOAK ?? 10_000);

describe.skipIf(!process.env.TEST_DATABASE_URL)(`soak: ${N} messages, two scheduler processes`, () => {
  let db: Database & { url?: string };
  let peer: TwilioPeer;
  beforeAll(async () => {
    db = await openTestDatabase('postgres', { max: 2 });
    peer = await new TwilioPeer(SID, TOKEN).start();
  });
  afterAll(async () => {
    await peer?.stop();
    await db?.close();
  });

  it('every message sent exactly once, counts reconciled at both ends', async () => {
    const seeded = Date.now();
    const { campaignId } = await seedApproved(db.pool, { name: 'soak', n: N, phoneBase: 6_000_000, firstAt: new Date(Date.now() - 1000) });
    const seedSeconds = (Date.now() - seeded) / 1000;
    const env = {
      CHILD_DATABASE_URL: db.url!, CHILD_TWILIO_URL: peer.url, CHILD_TWILIO_SID: SID, CHILD_TWILIO_TOKEN: TOKEN,
      CHILD_BATCH: '200', CHILD_CONCURRENCY: '16', CHILD_LEASE_MS: '60000', CHILD_SETTLE_MS: '1000', CHILD_TIMEOUT_MS: '10000', CHILD_POOL: '4',
    };
    const children: Child[] = [spawnScheduler(env), spawnScheduler(env)];
    try {
      await Promise.all(children.map((c) => c.waitFor('ready')));
      const started = Date.now();
      await waitUntil(() => settled(db.pool, campaignId), 240_000, `all ${N} messages settled`);
      const seconds = (Date.now() - started) / 1000;
      for (const c of children) expect(c.alive(), c.output()).toBe(true);
      for (const c of children) c.kill('SIGTERM');
      expect(await Promise.all(children.map((c) => c.done))).toEqual([0, 0]);

      expect(await statusCounts(db.pool, campaignId)).toEqual({ sent: N });
      expect(peer.messages).toHaveLength(N);
      const report = await checkInvariants(db.pool, {
        config: loadConfig({ LOG_LEVEL: 'silent' }), sends: peerSends(peer.messages), campaignIds: [campaignId],
        // Every window is open in this campaign (ALWAYS_OPEN): skip the per-recipient look-ups.
        windows: false,
      });
      expectNoViolations(report, N);
      console.log(`[faults] soak: ${N} messages through 2 processes to the Twilio peer in ${seconds.toFixed(1)} s (${Math.round(N / seconds)} msg/s; seeding ${seedSeconds.toFixed(1)} s); checked ${report.checked}, provider sends ${report.providerSends}, lost ${report.lost}, twice ${report.sentTwice}`);
    } finally {
      for (const c of children) if (c.alive()) c.kill('SIGKILL');
    }
  });
});
