/**
 * A customer whose record says state FL but has no time zone, with a San Francisco number:
 * Florida's 08:00-20:00 applies in Florida's zones (Eastern and Central), not on the number's
 * Pacific time, which would let an SMS go at 21:30 Eastern / 20:30 Central.
 */
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import { planApprovedMessages } from '../../src/scheduler/planner.ts';
import { OutboxSmsProvider } from '../../src/sms/outbox.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { outboxFor, statusOf, testContext } from './support.ts';

/** Florida's two zones (the peninsula is Eastern, the western panhandle Central). */
const FLORIDA_ZONES = ['America/New_York', 'America/Chicago'];
const localMinutes = (t: number, zone: string) => {
  const d = DateTime.fromMillis(t, { zone });
  return d.hour * 60 + d.minute;
};
const insideFloridaLaw = (t: number) => FLORIDA_ZONES.every((z) => localMinutes(t, z) >= 8 * 60 && localMinutes(t, z) < 20 * 60);

describe.each(engines)('a customer in Florida (by the record) with a California number, on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    // Wednesday 18:30 in Los Angeles = 20:30 Central = 21:30 Eastern.
    ctx = testContext(db, {}, '2025-07-17T01:30:00.000Z');
  });
  afterAll(() => db?.close());

  it('is not texted after 20:00 Florida time by the dispatcher', async () => {
    const campaignId = await insertCampaign(db.pool, { name: `fl-${engine}` });
    const customer = await insertCustomer(db.pool, { state: 'FL' }); // +1415 number, no zone on record
    const id = await insertMessage(db.pool, {
      campaignId, status: 'approved', phone: customer.phone, customerId: customer.id, scheduledAt: new Date(ctx.clock.now().getTime() - 60_000),
    });
    await new Dispatcher(ctx, new OutboxSmsProvider(db.pool, ctx.clock), { bubbleGapMs: 0 }).runOnce();
    const sent = await outboxFor(db, customer.phone);
    expect(sent, `status ${(await statusOf(db, id)).status} at ${ctx.clock.now().toISOString()}`).toHaveLength(0);
  });

  it('is not planned after 20:00 Florida time by the planner', async () => {
    ctx.clock.set('2025-07-17T01:30:00.000Z');
    const campaignId = await insertCampaign(db.pool, { name: `fl-plan-${engine}` });
    const customer = await insertCustomer(db.pool, { state: 'FL' });
    const id = await insertMessage(db.pool, { campaignId, status: 'approved', phone: customer.phone, customerId: customer.id });
    await db.tx((c) => planApprovedMessages(c, ctx, campaignId));
    const at = (await statusOf(db, id)).scheduled_send_time!.getTime();
    expect(insideFloridaLaw(at), `planned at ${new Date(at).toISOString()} (${DateTime.fromMillis(at, { zone: 'America/New_York' }).toFormat('HH:mm')} Eastern)`).toBe(true);
  });
});
