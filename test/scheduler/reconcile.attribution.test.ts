/**
 * Reconciliation of messages whose sender died: found vs absent, same-text rivals to one
 * number (never a guess), a test send's SMS never taken for a campaign message, an absent
 * message of a cancelled campaign cancelled instead of re-sent. On the local outbox provider
 * (the embedded default) the answer to a customer's HELP is an SMS to their number that is
 * neither a campaign message's nor a test send: it is listed as an answer (Twilio's
 * outbound-reply), so reconciliation does not count it as an SMS nothing accounts for, and a
 * message that never went goes again instead of waiting for a person.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { sendTestMessage } from '../../src/scheduler/controls.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import { handleInboundSms } from '../../src/sms/inbound.ts';
import { OutboxSmsProvider } from '../../src/sms/outbox.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer } from '../support/fixtures.ts';
import { insertAttemptedMessage, insertOutboxSms, outboxFor, statusOf, testContext } from './support.ts';

describe.each(engines)('reconciliation on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  let n = 0;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db);
  });
  afterAll(() => db?.close());

  const dispatcher = () => new Dispatcher(ctx, new OutboxSmsProvider(db.pool, ctx.clock), { bubbleGapMs: 0 });

  /** A message left `sending` by a sender that died `minutesAgo` minutes ago, having (or not) reached the provider. */
  async function orphan(opts: { went: boolean; phone?: string; body?: string; campaignId?: number; minutesAgo?: number; status?: 'sending' | 'unknown' }) {
    const campaignId = opts.campaignId ?? (await insertCampaign(db.pool, { name: `rec-${engine}-${++n}` }));
    const c = opts.phone ? { id: undefined, phone: opts.phone } : await insertCustomer(db.pool, { timezone: 'America/Los_Angeles', state: 'CA' });
    const body = opts.body ?? `Hi ${n}! We miss you. Reply STOP to opt out`;
    const at = new Date(ctx.clock.now().getTime() - (opts.minutesAgo ?? 10) * 60_000);
    const id = await insertAttemptedMessage(db, { campaignId, status: opts.status, phone: c.phone, customerId: c.id, body, scheduledAt: at, attemptAt: at });
    if (opts.went) await insertOutboxSms(db, { providerMessageId: `SMorphan${engine}${n}`, phone: c.phone, body, messageId: id, at: new Date(at.getTime() + 1000) });
    return { id, campaignId, phone: c.phone, body };
  }

  it('an orphan whose SMS went is found and recorded sent; nothing goes again', async () => {
    const m = await orphan({ went: true });
    const r = await dispatcher().reconcileOnce();
    expect(r.expired).toBeGreaterThanOrEqual(1);
    expect((await statusOf(db, m.id)).status).toMatch(/^(sent|delivered)$/);
    await dispatcher().runOnce();
    expect(await outboxFor(db, m.phone)).toHaveLength(1);
  });

  it('two orphans to one number with the same text and one SMS between them: neither is recorded sent by a guess', async () => {
    // A was claimed first (12 minutes ago) and its SMS went; B (10 minutes ago, same text, another campaign) never went.
    const a = await orphan({ went: true, body: 'Same template text. Reply STOP to opt out', minutesAgo: 12 });
    const b = await orphan({ went: false, phone: a.phone, body: a.body, minutesAgo: 10 });
    await dispatcher().reconcileOnce();
    const sa = (await statusOf(db, a.id)).status;
    const sb = (await statusOf(db, b.id)).status;
    // A goes to review because B is a rival; B must not then take A's SMS as its own: it never went.
    expect({ a: sa, b: sb }).toEqual({ a: 'needs_review', b: 'needs_review' });
    // Each names the other, and says why.
    expect((await statusOf(db, a.id)).last_error).toContain(`message ${b.id} `);
    expect((await statusOf(db, b.id)).last_error).toContain(`message ${a.id} `);
    expect(await outboxFor(db, a.phone)).toHaveLength(1);
  });

  it('waits while a message to the same number with the same text is still being sent (its record will claim its SMS)', async () => {
    const a = await orphan({ went: true, body: 'Another shared text. Reply STOP to opt out', minutesAgo: 12, status: 'unknown' });
    // B was claimed a moment ago: its sender is alive and may be the one whose SMS is listed.
    const b = await orphan({ went: false, phone: a.phone, body: a.body, minutesAgo: 0.1 });
    await dispatcher().reconcileOnce();
    expect({ a: (await statusOf(db, a.id)).status, b: (await statusOf(db, b.id)).status }).toEqual({ a: 'unknown', b: 'sending' });
  });

  it("a test send's SMS is never taken for the campaign message it copied", async () => {
    const m = await orphan({ went: false });
    expect(await sendTestMessage(ctx, { campaignId: m.campaignId, phone: m.phone, actor: 'dana', surface: 'cli' })).toMatchObject({ ok: true });
    await dispatcher().reconcileOnce();
    expect((await statusOf(db, m.id)).status).toBe('approved');
  });

  it('an absent orphan of a campaign cancelled meanwhile is cancelled, not sent', async () => {
    const m = await orphan({ went: false });
    await db.pool.query(`UPDATE campaigns SET status = 'cancelled' WHERE id = $1`, [m.campaignId]);
    await dispatcher().reconcileOnce();
    expect((await statusOf(db, m.id)).status).toBe('cancelled');
    expect(await outboxFor(db, m.phone)).toHaveLength(0);
  });

  it('a HELP answer from the outbox does not send a message that never went to review', async () => {
    expect(ctx.config.twilio).toBeFalsy();
    // Its sender died before the provider call: nothing went.
    const m = await orphan({ went: false, body: 'Hi! New menu this week. Reply STOP to opt out' });
    // Meanwhile the customer texted HELP; the console answered it through the outbox.
    const r = await handleInboundSms(ctx, { providerMessageId: `SMhelp${engine}`, from: m.phone, body: 'HELP' });
    expect(r.kind).toBe('help');
    expect((await outboxFor(db, m.phone)).map((o) => o.message_id)).toEqual([null]);

    await dispatcher().reconcileOnce();
    // Confirmed absent: it goes again at the next tick, as without the HELP.
    expect((await statusOf(db, m.id)).status).toBe('approved');
  });
});
