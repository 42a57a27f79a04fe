/**
 * Caps and drains at the edges: the day cap on a fall-back day counts the sends of the
 * repeated hour (planning and claiming), a resume's re-plan counts the last hour's sends,
 * and stopping the loop while a slow batch is in flight records it (nothing left sending).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import { DispatchLoop } from '../../src/scheduler/index.ts';
import { planApprovedMessages } from '../../src/scheduler/planner.ts';
import { pauseCampaign, resumeCampaign } from '../../src/scheduler/controls.ts';
import { OutboxSmsProvider } from '../../src/sms/outbox.ts';
import type { SmsProvider } from '../../src/sms/provider.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { statusOf, testContext } from './support.ts';

describe.each(engines)('caps and drains at the edges on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  let n = 0;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db);
  });
  afterAll(() => db?.close());

  async function msgs(campaignId: number, k: number, at?: Date) {
    const ids: number[] = [];
    for (let i = 0; i < k; i++) {
      const c = await insertCustomer(db.pool, { timezone: 'America/Los_Angeles', state: 'CA' });
      ids.push(await insertMessage(db.pool, { campaignId, status: 'approved', phone: c.phone, customerId: c.id, scheduledAt: at }));
    }
    return ids;
  }

  it('day cap on the fall-back day: replan and claim count the early-morning sends', async () => {
    ctx.clock.set('2025-11-02T18:00:00.000Z'); // Sunday 10:00 PST (day began 07:00Z PDT)
    const settings = { ratePerDay: 3, businessDays: [1, 2, 3, 4, 5, 6, 7], businessHours: { start: 0, end: 1439 }, recipientQuietHours: null, gapMinSeconds: 1, gapMaxSeconds: 2, skipProbability: 0 };
    const campaignId = await insertCampaign(db.pool, { name: `dst-${engine}-${++n}`, settings });
    // Three attempts: 00:30 PDT, 01:30 PDT (first), 01:30 PST (second).
    for (const t of ['2025-11-02T07:30:00Z', '2025-11-02T08:30:00Z', '2025-11-02T09:30:00Z']) {
      const id = await insertMessage(db.pool, { campaignId, status: 'delivered', scheduledAt: new Date(t) });
      await db.pool.query('UPDATE campaign_messages SET attempts = 1, last_attempt_at = $2 WHERE id = $1', [id, new Date(t)]);
    }
    const ids = await msgs(campaignId, 3);
    await db.tx((c) => planApprovedMessages(c, ctx, campaignId));
    const slots = (await Promise.all(ids.map((id) => statusOf(db, id)))).map((s) => s.scheduled_send_time!.toISOString());
    for (const s of slots) expect(Date.parse(s)).toBeGreaterThanOrEqual(Date.parse('2025-11-03T08:00:00Z'));
    await db.pool.query('UPDATE campaign_messages SET scheduled_send_time = $2 WHERE id = ANY($1::bigint[])', [ids, new Date('2025-11-02T17:59:00Z')]);
    const st = await new Dispatcher(ctx, new OutboxSmsProvider(db.pool, ctx.clock), { bubbleGapMs: 0 }).runOnce();
    expect(st.claimed).toBe(0);
    await db.pool.query(`UPDATE campaign_messages SET status = 'cancelled' WHERE campaign_id = $1 AND status = 'approved'`, [campaignId]);
  });

  it('resume re-plan counts the sends of the last minute/hour', async () => {
    ctx.clock.set('2025-07-16T17:00:00.000Z');
    const settings = { ratePerHour: 3, gapMinSeconds: 1, gapMaxSeconds: 2, skipProbability: 0 };
    const campaignId = await insertCampaign(db.pool, { name: `resume-${engine}-${++n}`, settings });
    for (let i = 0; i < 3; i++) {
      const t = new Date(Date.parse('2025-07-16T16:30:00Z') + i * 60_000);
      const id = await insertMessage(db.pool, { campaignId, status: 'delivered', scheduledAt: t });
      await db.pool.query('UPDATE campaign_messages SET attempts = 1, last_attempt_at = $2 WHERE id = $1', [id, t]);
    }
    const ids = await msgs(campaignId, 4, new Date('2025-07-16T16:50:00Z'));
    await pauseCampaign(ctx, { campaignId, actor: 'x', surface: 'cli' });
    await resumeCampaign(ctx, { campaignId, actor: 'x', surface: 'cli' });
    const slots = (await Promise.all(ids.map((id) => statusOf(db, id)))).map((s) => s.scheduled_send_time!.getTime()).sort();
    expect(slots[0]).toBeGreaterThanOrEqual(Date.parse('2025-07-16T17:30:00Z'));
    await db.pool.query(`UPDATE campaign_messages SET status = 'cancelled' WHERE campaign_id = $1 AND status = 'approved'`, [campaignId]);
  });

  it('SIGTERM drain: stop() while a slow batch is in flight leaves nothing sending', async () => {
    ctx.clock.set('2025-07-16T17:00:00.000Z');
    const campaignId = await insertCampaign(db.pool, { name: `drain-${engine}-${++n}`, settings: { ratePerMinute: 100 } });
    const ids = await msgs(campaignId, 6, new Date('2025-07-16T16:59:00Z'));
    let entered!: () => void;
    const inFlight = new Promise<void>((r) => (entered = r));
    const outbox = new OutboxSmsProvider(db.pool, ctx.clock);
    const slow: SmsProvider = {
      name: 'outbox',
      send: async (m) => {
        entered();
        await new Promise((r) => setTimeout(r, 200));
        return outbox.send(m);
      },
      listSent: async () => [],
    };
    const loop = new DispatchLoop(ctx, new Dispatcher(ctx, slow, { bubbleGapMs: 0, batchSize: 2, concurrency: 1 }));
    loop.kick();
    await inFlight;
    await loop.stop();
    const st = (await Promise.all(ids.map((id) => statusOf(db, id)))).map((s) => s.status);
    expect(st.filter((s) => s === 'sending')).toEqual([]);
  });
});
