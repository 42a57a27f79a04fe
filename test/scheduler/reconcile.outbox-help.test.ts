/**
 * On the local outbox provider (the embedded default) the answer to a customer's HELP is an
 * SMS to their number that is neither a campaign message's nor a test send: it is listed as
 * an answer (Twilio's outbound-reply), so reconciliation does not count it as an SMS nothing
 * accounts for, and a message that never went goes again instead of waiting for a person.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import { handleInboundSms } from '../../src/sms/inbound.ts';
import { OutboxSmsProvider } from '../../src/sms/outbox.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { outboxFor, statusOf, testContext } from '../scheduler/support.ts';

describe.each(engines)('a HELP answered by the outbox, during reconciliation, on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db);
  });
  afterAll(() => db?.close());

  const dispatcher = () => new Dispatcher(ctx, new OutboxSmsProvider(db.pool, ctx.clock), { bubbleGapMs: 0 });

  it("a HELP answer from the outbox does not send a message that never went to review", async () => {
    expect(ctx.config.twilio).toBeFalsy();
    const campaignId = await insertCampaign(db.pool, { name: `help-${engine}` });
    const c = await insertCustomer(db.pool, { timezone: 'America/Los_Angeles', state: 'CA' });
    const body = 'Hi! New menu this week. Reply STOP to opt out';
    const at = new Date(ctx.clock.now().getTime() - 10 * 60_000);
    // Its sender died before the provider call: nothing went.
    const id = await insertMessage(db.pool, { campaignId, status: 'sending', phone: c.phone, customerId: c.id, body, scheduledAt: at });
    await db.pool.query('UPDATE campaign_messages SET attempts = 1, last_attempt_at = $2 WHERE id = $1', [id, at]);
    // Meanwhile the customer texted HELP; the console answered it through the outbox.
    const r = await handleInboundSms(ctx, { providerMessageId: `SMhelp${engine}`, from: c.phone, body: 'HELP' });
    expect(r.kind).toBe('help');
    expect((await outboxFor(db, c.phone)).map((o) => o.message_id)).toEqual([null]);

    await dispatcher().reconcileOnce();
    const s = await statusOf(db, id);
    // Confirmed absent: it goes again at the next tick, as without the HELP.
    expect(s.status).toBe('approved');
  });
});
