/**
 * The real `twilio` client against the local Twilio peer, through the dispatcher: every
 * fault ends where it must, and nothing is ever sent twice (counted at the provider).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import type { TwilioSmsProvider } from '../../src/sms/twilio.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { TwilioPeer } from '../peers/twilio.ts';
import { campaignStatusOf, reconcilePastLeaseAndSettle, statusOf, testContext } from '../scheduler/support.ts';

const SID = 'AC00000000000000000000000000000001';
const TOKEN = 'peer-auth-token';

describe.each(engines)('Twilio faults through the dispatcher on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  let peer: TwilioPeer;
  let sms: TwilioSmsProvider;
  let n = 0;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db);
    peer = await new TwilioPeer(SID, TOKEN, { now: () => ctx.clock.now() }).start();
    sms = peer.provider({ timeoutMs: 500 });
  });
  afterAll(async () => {
    await peer?.stop();
    await db?.close();
  });

  async function due(settings: Record<string, unknown> = {}) {
    const campaignId = await insertCampaign(db.pool, { name: `t${++n}-${engine}`, settings });
    const customer = await insertCustomer(db.pool, { timezone: 'America/Los_Angeles' });
    const id = await insertMessage(db.pool, {
      campaignId, status: 'approved', phone: customer.phone, customerId: customer.id, scheduledAt: new Date(ctx.clock.now().getTime() - 1000),
    });
    return { campaignId, id, phone: customer.phone };
  }
  const atPeer = (phone: string) => peer.messages.filter((m) => m.to === phone).length;
  const dispatcher = () => new Dispatcher(ctx, sms, { settleMs: 30_000, bubbleGapMs: 0 });

  it('sends through the Messaging Service with a status callback and basic auth', async () => {
    const m = await due();
    await dispatcher().runOnce();
    const s = await statusOf(db, m.id);
    expect(s.status).toBe('sent');
    const sent = peer.messages.find((x) => x.to === m.phone)!;
    expect(s.provider_message_id).toBe(sent.sid);
    expect(sent).toMatchObject({ messagingServiceSid: 'MG0001', statusCallback: 'https://smsops.example.com/twilio/status' });
    expect(peer.requests.at(-1)!.authorized).toBe(true);
  });

  it.each([
    ['a 500 (not created)', 'http500', false],
    ['a 429 (not created)', 'http429', false],
    ['a dropped connection after acceptance', 'drop', true],
    ['a hang after acceptance (client timeout)', 'hang', true],
  ] as const)('%s leaves it unknown, reconciliation settles it, and it goes out exactly once', async (_label, fault, accepted) => {
    const m = await due();
    peer.failFor(m.phone, fault);
    await dispatcher().runOnce();
    expect(await statusOf(db, m.id)).toMatchObject({ status: 'unknown', attempts: 1 });
    expect(atPeer(m.phone)).toBe(accepted ? 1 : 0);
    peer.failFor(m.phone, null);

    // Before the settle delay nothing is decided; after it, the provider's list decides.
    await dispatcher().reconcileOnce();
    expect((await statusOf(db, m.id)).status).toBe('unknown');
    ctx.clock.advance(31_000);
    await dispatcher().reconcileOnce();
    expect((await statusOf(db, m.id)).status).toBe(accepted ? 'sent' : 'approved');
    await dispatcher().runOnce();
    const s = await statusOf(db, m.id);
    expect(s.status).toBe('sent');
    expect(atPeer(m.phone)).toBe(1);
    expect(s.provider_message_id).toBe(peer.messages.find((x) => x.to === m.phone)!.sid);
  });

  it('21610 records the opt-out, cancels the message and every other pending one to that number', async () => {
    const m = await due();
    const other = await insertCampaign(db.pool, { name: `t-other-${engine}` });
    const pending = await insertMessage(db.pool, { campaignId: other, status: 'suggested', phone: m.phone });
    peer.failFor(m.phone, 'optout21610');
    await dispatcher().runOnce();
    expect(await statusOf(db, m.id)).toMatchObject({ status: 'cancelled', error_code: '21610' });
    expect(await statusOf(db, pending)).toMatchObject({ status: 'cancelled' });
    const { rows } = await db.pool.query('SELECT status, source FROM contact_status WHERE phone = $1', [m.phone]);
    expect(rows[0]).toEqual({ status: 'opted_out', source: 'provider' });
  });

  it('a permanent error (21211) fails the message with its code; enough of them pause the campaign and say so', async () => {
    const first = await due({ errorBudget: 3, errorBudgetWindow: 10 });
    const ids = [first.id];
    for (let i = 0; i < 3; i++) {
      const c = await insertCustomer(db.pool, { timezone: 'America/Los_Angeles' });
      ids.push(await insertMessage(db.pool, { campaignId: first.campaignId, status: 'approved', phone: c.phone, customerId: c.id, scheduledAt: new Date(ctx.clock.now().getTime() - 1000 + i) }));
    }
    const { rows: phones } = await db.pool.query<{ phone: string }>('SELECT phone FROM campaign_messages WHERE id = ANY($1)', [ids]);
    for (const p of phones) peer.failFor(p.phone, 'invalid21211');
    await new Dispatcher(ctx, sms, { batchSize: 3 }).runOnce();
    for (const id of ids.slice(0, 3)) expect(await statusOf(db, id)).toMatchObject({ status: 'failed', error_code: '21211' });
    expect(await campaignStatusOf(db, first.campaignId)).toMatchObject({ status: 'paused', paused_reason: expect.stringMatching(/error budget/) });
    const alert = await db.pool.query(`SELECT payload FROM chat_outbox WHERE dedupe_key LIKE $1`, [`alert:error_budget:${first.campaignId}:%`]);
    expect(alert.rows[0].payload.message.title).toMatch(/paused automatically/);
    await dispatcher().runOnce();
    expect((await statusOf(db, ids[3]!)).status).toBe('approved');
  });

  it('a sender that died mid-send (lease expired) is reconciled, not re-sent blindly', async () => {
    const m = await due();
    // What a killed sender leaves: claimed, accepted by Twilio, outcome never recorded.
    await db.pool.query(
      `UPDATE campaign_messages SET status = 'sending', attempts = 1, last_attempt_at = $2 WHERE id = $1`,
      [m.id, ctx.clock.now()],
    );
    await sms.send({ to: m.phone, body: 'Hi! We miss you. Reply STOP to opt out', messageId: m.id });
    await reconcilePastLeaseAndSettle(ctx.clock, dispatcher());
    expect((await statusOf(db, m.id)).status).toBe('sent');
    expect(atPeer(m.phone)).toBe(1);
  });
});
