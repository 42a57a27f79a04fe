/**
 * A test send to a number that is a customer's follows the rules of a campaign send:
 * consent, and the recipient's quiet hours (the dispatcher would cancel or hold the very
 * same number). The campaign's own test numbers, and numbers that are no customer's (the
 * manager's phone), may be tested at any hour.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { sendTestMessage } from '../../src/scheduler/controls.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import { OutboxSmsProvider } from '../../src/sms/outbox.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer, nextPhone } from '../support/fixtures.ts';
import { insertDueMessage, outboxFor, statusOf, testContext } from './support.ts';

/** 10:00 UTC on a Wednesday = 03:00 in Los Angeles: outside the default 08:00-21:00 quiet window. */
const THREE_AM_LA = '2025-07-16T10:00:00.000Z';
const LA = 'America/Los_Angeles';

describe.each(engines)('test sends to customers on %s', (engine) => {
  let db: Database;
  let n = 0;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
  });
  afterAll(() => db?.close());

  async function campaignWithMessage(ctx: ReturnType<typeof testContext>) {
    const campaignId = await insertCampaign(db.pool, { name: `test-send-${++n}-${engine}` });
    await insertDueMessage(db, ctx.clock.now(), { campaignId, body: 'Hi! We miss you. Reply STOP to opt out' });
    return campaignId;
  }

  it('the dispatcher itself refuses a customer whose consent is denied (what a test send must match)', async () => {
    const ctx = testContext(db);
    const campaignId = await insertCampaign(db.pool, { name: `ctrl-${++n}-${engine}` });
    const denied = await insertDueMessage(db, ctx.clock.now(), { campaignId, consent: 'denied' });
    await new Dispatcher(ctx, new OutboxSmsProvider(db.pool, ctx.clock), { bubbleGapMs: 0 }).runOnce();
    expect((await statusOf(db, denied.id)).status).toBe('cancelled');
    expect(await outboxFor(db, denied.phone)).toEqual([]);
  });

  it('refuses a customer whose consent is denied, saying why, and sends nothing', async () => {
    const ctx = testContext(db);
    const campaignId = await campaignWithMessage(ctx);
    const denied = await insertCustomer(db.pool, { name: 'Dee Nied', consent: 'denied', timezone: LA, state: 'CA' });
    const r = await sendTestMessage(ctx, { campaignId, phone: denied.phone, actor: 'dana', surface: 'slack' });
    expect(await outboxFor(db, denied.phone)).toEqual([]);
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/customer's number \(Dee Nied\) without consent to texts \(denied\)/);
  });

  it("refuses a customer's number at 03:00 their time, naming when it may go, and sends nothing", async () => {
    const ctx = testContext(db, {}, THREE_AM_LA);
    const campaignId = await campaignWithMessage(ctx);
    const sleeping = await insertCustomer(db.pool, { consent: 'opted_in', timezone: LA, state: 'CA' });
    const r = await sendTestMessage(ctx, { campaignId, phone: sleeping.phone, actor: 'dana', surface: 'slack' });
    expect(await outboxFor(db, sleeping.phone)).toEqual([]);
    expect(r.ok).toBe(false);
    expect(r.message).toContain('outside their quiet hours now: try again from Wed 07/16 8:00 AM (America/Los_Angeles)');
  });

  it("sends to a consenting customer's number inside their quiet hours", async () => {
    const ctx = testContext(db);
    const campaignId = await campaignWithMessage(ctx);
    const awake = await insertCustomer(db.pool, { consent: 'opted_in', timezone: LA, state: 'CA' });
    const r = await sendTestMessage(ctx, { campaignId, phone: awake.phone, actor: 'dana', surface: 'slack' });
    expect(r.ok).toBe(true);
    expect((await outboxFor(db, awake.phone)).map((o) => o.body)).toEqual(['[TEST] Hi! We miss you. Reply STOP to opt out']);
  });

  it("sends at 03:00 to one of the campaign's test numbers, and to a number that is no customer's", async () => {
    const ctx = testContext(db, {}, THREE_AM_LA);
    const campaignId = await campaignWithMessage(ctx);
    const managerAsCustomer = await insertCustomer(db.pool, { consent: 'denied', timezone: LA, state: 'CA' });
    await db.pool.query('UPDATE campaigns SET test_numbers = $2 WHERE id = $1', [campaignId, [managerAsCustomer.phone]]);
    const managersPhone = nextPhone();
    for (const phone of [managerAsCustomer.phone, managersPhone]) {
      const r = await sendTestMessage(ctx, { campaignId, phone, actor: 'dana', surface: 'slack' });
      expect(r.ok).toBe(true);
      expect(await outboxFor(db, phone)).toHaveLength(1);
    }
  });
});
