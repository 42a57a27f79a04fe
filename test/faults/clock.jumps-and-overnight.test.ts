/**
 * Time faults with the campaign defaults (business hours 09:00-20:00 LA, recipient quiet
 * hours 08:00-21:00, caps 5/min, 100/h, 250/day, MAX_LATENESS_MINUTES 120): the clock
 * jumping forward by hours under a running dispatcher, and the service down overnight.
 * No burst of catch-up sends (every cap holds in every window, checked at the provider),
 * and messages far past their slot wait for a new approval (needs_review).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import { OutboxSmsProvider } from '../../src/sms/outbox.ts';
import { openTestDatabase } from '../support/db.ts';
import { testContext } from '../scheduler/support.ts';
import { checkInvariants, expectNoViolations, outboxSends } from './support/invariants.ts';
import { seedApproved, statusCounts } from './support/harness.ts';

const engine = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';
/** Wednesday 2025-07-16 10:00 in Los Angeles. */
const WED_10AM = '2025-07-16T17:00:00.000Z';

describe(`clock faults on ${engine}`, () => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  let dispatcher: Dispatcher;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db, {}, WED_10AM);
    dispatcher = new Dispatcher(ctx, new OutboxSmsProvider(db.pool, ctx.clock), { bubbleGapMs: 0, settleMs: 30_000 });
  });
  afterAll(() => db?.close());

  /** Runs the dispatcher every 10 s of simulated time for `minutes`. */
  async function run(minutes: number): Promise<void> {
    for (let t = 0; t < minutes * 6; t++) {
      await dispatcher.reconcileOnce();
      await dispatcher.runOnce();
      ctx.clock.advance(10_000);
    }
  }
  const sendsOf = async (campaignId: number) =>
    Number((await db.pool.query(`SELECT count(*)::int AS n FROM sms_outbox o JOIN campaign_messages m ON m.id = o.message_id WHERE m.campaign_id = $1`, [campaignId])).rows[0].n);

  it('a jump of three hours: no burst, caps hold in every window, the too-late need approval again', async () => {
    // 400 approved messages, a slot every 15 s from 10:00 (the campaign's own caps allow 5/min).
    const { campaignId } = await seedApproved(db.pool, { name: 'jump', n: 400, phoneBase: 3_000_000, firstAt: ctx.clock.now(), spacingMs: 15_000, settings: {} });
    await run(5);
    const before = await sendsOf(campaignId);
    expect(before).toBeGreaterThan(10);

    ctx.clock.advance(3 * 3_600_000);
    await run(1);
    // Right after the jump: at most one minute's cap went out, however much was due.
    expect((await sendsOf(campaignId)) - before).toBeLessThanOrEqual(5);
    await run(40);
    const counts = await statusCounts(db.pool, campaignId);
    expect(counts.needs_review).toBeGreaterThan(100);
    expect(counts.approved ?? 0).toBe(0);
    const { rows } = await db.pool.query(`SELECT last_error FROM campaign_messages WHERE campaign_id = $1 AND status = 'needs_review' LIMIT 1`, [campaignId]);
    expect(rows[0].last_error).toMatch(/approve it again/);

    const report = await checkInvariants(db.pool, { config: ctx.config, sends: await outboxSends(db.pool), campaignIds: [campaignId] });
    expectNoViolations(report, 400);
    console.log(`[faults] clock jump +3 h: checked ${report.checked}, provider sends ${report.providerSends}, needs_review ${counts.needs_review}, lost ${report.lost}, twice ${report.sentTwice}`);
  });

  it('down overnight: nothing is caught up in the morning, every missed slot needs approval again', async () => {
    // Slots from 19:00 to 19:59 tonight; the service stops at 18:59 and comes back at 09:00 tomorrow.
    ctx.clock.set('2025-07-17T01:59:00.000Z'); // 18:59 LA
    const evening = new Date('2025-07-17T02:00:00.000Z');
    const { campaignId } = await seedApproved(db.pool, { name: 'overnight', n: 120, phoneBase: 3_100_000, firstAt: evening, spacingMs: 30_000, settings: {} });
    ctx.clock.set('2025-07-17T16:00:00.000Z'); // 09:00 LA next morning
    await run(10);
    expect(await sendsOf(campaignId)).toBe(0);
    expect(await statusCounts(db.pool, campaignId)).toEqual({ needs_review: 120 });

    const report = await checkInvariants(db.pool, { config: ctx.config, sends: await outboxSends(db.pool), campaignIds: [campaignId] });
    expectNoViolations(report, 120);
    console.log(`[faults] overnight outage: checked ${report.checked}, provider sends ${report.providerSends}, lost ${report.lost}, twice ${report.sentTwice}`);
  });
});
