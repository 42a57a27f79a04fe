/**
 * A message in review that did go out, recorded by a person from the provider's log:
 * `/campaign sent MESSAGE SMSID`. Reconciliation sends two same-text messages to one number
 * to review when only one SMS is there; the manager finds the SMS in Twilio's log and says
 * whose it is. The id is checked at the provider (the real `twilio` client against the local
 * Twilio peer) before anything is recorded, and nothing goes out again: not an SMS that failed
 * there, a test send, an automatic answer, another message's, or one that another message to
 * the number still being sent or reconciled may own.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/bot/actor.ts';
import { loadCard } from '../../src/bot/cards.ts';
import type { Database } from '../../src/db/database.ts';
import { auditFor } from '../../src/db/queries/audit.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import { editMessage } from '../../src/bot/approvals.ts';
import { createSmsProvider } from '../../src/sms/index.ts';
import { recordSentByHand } from '../../src/sms/markSent.ts';
import type { SmsProvider } from '../../src/sms/provider.ts';
import { TEST_SEND_PREFIX } from '../../src/sms/providerText.ts';
import { handleStatusCallback } from '../../src/sms/status.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertBatch, insertCampaign, insertCustomer, insertMessage, nextPhone } from '../support/fixtures.ts';
import { campaignCommand, dana, lee, postTexts, sam } from '../support/chat.ts';
import { TwilioPeer } from '../peers/twilio.ts';
import { campaignStatusOf, insertAttemptedMessage, reconcilePastLeaseAndSettle, statusOf, testContext } from '../scheduler/support.ts';

const SID = 'AC00000000000000000000000000000003';
const TOKEN = 'peer-auth-token';
const BODY = 'Hi Robin, we miss you at Bean There: 10% off this week. Reply STOP to opt out';

describe.each(engines)('a message in review recorded as sent by hand, on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  let peer: TwilioPeer;
  let sms: SmsProvider;
  let n = 0;
  const env = () => ({
    TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: TOKEN, TWILIO_MESSAGING_SERVICE_SID: 'MG0003', TWILIO_API_URL: peer.url,
    PUBLIC_URL: 'https://smsops.example.com', RECIPIENT_QUIET_HOURS: 'off',
  });
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    peer = await new TwilioPeer(SID, TOKEN, { now: () => ctx.clock.now() }).start();
    ctx = testContext(db, env());
    sms = createSmsProvider(ctx);
  });
  beforeEach(() => {
    peer.keptText = 'as_sent';
  });
  afterAll(async () => {
    await peer?.stop();
    await db?.close();
  });

  const command = (actor: Actor, text: string) => campaignCommand(ctx, actor, text);
  const sentTo = (phone: string) => peer.messages.filter((m) => m.to === phone && m.direction === 'outbound-api');

  /** Messages to one number whose senders died after the claim; `went` of them reached Twilio. */
  async function orphans(bodies: string[], went: number[]) {
    const c = await insertCustomer(db.pool, { name: `Robin ${++n}`, timezone: 'America/Los_Angeles', state: 'CA' });
    const ids: number[] = [];
    for (const [i, body] of bodies.entries()) {
      const campaignId = await insertCampaign(db.pool, { name: `byhand-${engine}-${n}-${i}` });
      ids.push(await insertAttemptedMessage(db, { campaignId, batchId: await insertBatch(db.pool, campaignId), phone: c.phone, customerId: c.id, body, attemptAt: ctx.clock.now() }));
    }
    const sids: string[] = [];
    for (const i of went) sids.push((await sms.send({ to: c.phone, body: bodies[i]!, messageId: ids[i]! })).providerMessageId);
    return { ...c, ids, sids };
  }

  /** A message to a new customer, put in `status` after one attempt of ours (now). */
  async function message(status: 'needs_review' | 'sending' | 'unknown', opts: { phone?: string; customerId?: number; body?: string; settings?: Record<string, unknown> } = {}) {
    const c = opts.phone ? { id: opts.customerId!, phone: opts.phone } : await insertCustomer(db.pool, { name: `Robin ${++n}`, timezone: 'America/Los_Angeles', state: 'CA' });
    const name = `review-${engine}-${++n}`;
    const campaignId = await insertCampaign(db.pool, { name, settings: opts.settings });
    const id = await insertAttemptedMessage(db, {
      campaignId, batchId: await insertBatch(db.pool, campaignId), phone: c.phone, customerId: c.id, body: opts.body ?? BODY,
      attemptAt: ctx.clock.now(), status, lastError: status === 'needs_review' ? 'not found at the provider after 1 attempts' : undefined,
    });
    return { id, campaignId, name, phone: c.phone, customerId: c.id };
  }

  const reconcile = () => reconcilePastLeaseAndSettle(ctx.clock, new Dispatcher(ctx, sms, { settleMs: 30_000, bubbleGapMs: 0 }));

  it('two same-text messages, one SMS: the card shows the command; recorded, it is sent with that SMS, the other stays in review, nothing goes again', async () => {
    const c = await orphans([BODY, BODY], [0]);
    await reconcile();
    for (const id of c.ids) expect((await statusOf(db, id)).status).toBe('needs_review');
    const card = await loadCard(db.pool, ctx, c.ids[1]!);
    expect(card.statusHint).toBe(`If the provider's log shows it went: /campaign sent ${c.ids[1]} SMSID`);

    // The manager finds one SMS in the log and decides it was the second message's.
    const reply = await command(dana, `sent ${c.ids[1]} ${c.sids[0]}`);
    expect(reply.text).toBe(`Message ${c.ids[1]} to ${c.phone.slice(0, 5)}***${c.phone.slice(-4)} is recorded as sent: it will not be sent again.`);
    expect(await statusOf(db, c.ids[1]!)).toMatchObject({ status: 'sent', provider_message_id: c.sids[0], extra_provider_ids: [], last_error: null });
    expect((await statusOf(db, c.ids[0]!)).status).toBe('needs_review');
    expect((await auditFor(db.pool, 'message', c.ids[1]!)).map((a) => [a.actor, a.action]).at(-1)).toEqual(['Dana', 'recorded_sent_by_hand']);
    expect((await postTexts(db.pool, 'Recorded as sent (by hand)')).at(-1)).toBe(
      `Dana recorded message ${c.ids[1]} to Robin ${n} (${c.phone.slice(0, 5)}***${c.phone.slice(-4)}) as sent, from the provider's log (${c.sids[0]}). It will not be sent again.`,
    );

    // The same SMS cannot be the other message's too.
    expect((await command(dana, `sent ${c.ids[0]} ${c.sids[0]}`)).text).toBe(`SMS ${c.sids[0]} is message ${c.ids[1]}'s already: nothing was recorded. Check the id in the provider's log.`);
    expect((await statusOf(db, c.ids[0]!)).status).toBe('needs_review');
    // Nothing more went out, and the recorded message is not due.
    await new Dispatcher(ctx, sms, { bubbleGapMs: 0 }).sendDue();
    expect(sentTo(c.phone)).toHaveLength(1);
  });

  it('a text Twilio did not keep: the id is enough; a delivery reported before it was recorded is applied', async () => {
    peer.keptText = 'discarded';
    const c = await orphans([BODY], [0]);
    await reconcile();
    expect((await statusOf(db, c.ids[0]!)).status).toBe('needs_review');
    await handleStatusCallback(ctx, { providerMessageId: c.sids[0]!, status: 'delivered' });
    expect((await command(dana, `sent ${c.ids[0]} ${c.sids[0]}`)).text).toMatch(/is recorded as sent: it will not be sent again\.$/);
    expect(await statusOf(db, c.ids[0]!)).toMatchObject({ status: 'delivered', provider_message_id: c.sids[0] });
  });

  it('a message of two bubbles takes both ids, given in any order and with commas, first bubble first; or the one that went', async () => {
    const body = 'Hi Robin, we miss you![BUBBLE]10% off this week. Reply STOP to opt out';
    const c = await orphans([body, body], []);
    const bubbles = async (id: number) => [
      await sms.send({ to: c.phone, body: 'Hi Robin, we miss you!', messageId: id }),
      await sms.send({ to: c.phone, body: '10% off this week. Reply STOP to opt out', messageId: id }),
    ];
    const [first, second] = await bubbles(c.ids[0]!);
    // Sent again and again without being found: after the last attempt it waits for a person.
    await db.pool.query(`UPDATE campaign_messages SET status = 'needs_review', attempts = 3, last_error = 'not found' WHERE id = ANY($1::bigint[])`, [c.ids]);
    expect((await command(dana, `sent ${c.ids[0]} ${second!.providerMessageId},${first!.providerMessageId}`)).text).toMatch(/is recorded as sent: it will not be sent again\.$/);
    // The first bubble's id is the message's: delivery reports follow it.
    expect(await statusOf(db, c.ids[0]!)).toMatchObject({ status: 'sent', provider_message_id: first!.providerMessageId, extra_provider_ids: [second!.providerMessageId], last_error: null });

    // Of the other, only the first bubble went (a window closed between them, say).
    const [only] = await bubbles(c.ids[1]!);
    expect((await command(dana, `sent ${c.ids[1]} ${only!.providerMessageId}`)).text).toMatch(/is recorded as sent \(1 of its 2 bubbles\): it will not be sent again\.$/);
    expect(await statusOf(db, c.ids[1]!)).toMatchObject({ status: 'sent', provider_message_id: only!.providerMessageId, last_error: 'Dana recorded 1 of its 2 bubbles as sent' });
  });

  it('an edit made while the provider was asked: nothing is recorded (the text checked is not the text kept)', async () => {
    const a = await message('needs_review');
    const x = await sms.send({ to: a.phone, body: BODY, messageId: a.id });
    const editing: SmsProvider = {
      name: sms.name,
      send: (m) => sms.send(m),
      listSent: async (to, since) => {
        const listed = await sms.listSent(to, since);
        const { version } = (await db.pool.query('SELECT version FROM campaign_messages WHERE id = $1', [a.id])).rows[0];
        expect(await editMessage(ctx, { ...dana, name: 'Lee' }, a.id, 'Hi Robin, we miss you at Bean There. Come by soon! Reply STOP to opt out', version), 'the edit').toMatchObject({ ok: true });
        return listed;
      },
    };
    expect((await recordSentByHand(ctx, editing, dana, [String(a.id), x.providerMessageId]).catch((e: Error) => e)).message).toBe(
      `Message ${a.id} was edited while its SMS was being checked: nothing was recorded. Check its text against the provider's log and run the command again.`,
    );
    expect(await statusOf(db, a.id)).toMatchObject({ status: 'needs_review', provider_message_id: null });
  });

  it('refuses, changing nothing, an id the provider does not have for the number, of another text, a test send, an automatic answer, or a message not in review', async () => {
    const c = await orphans([BODY], [0]);
    await reconcile();
    const id = c.ids[0]!;
    // Reconciliation found the one SMS: sent. Put it back in review, as if it had not been listed in time.
    await db.pool.query(`UPDATE campaign_messages SET status = 'needs_review', provider_message_id = NULL, last_error = 'not found' WHERE id = $1`, [id]);
    const other = await sms.send({ to: c.phone, body: 'Hi Robin, your table is ready', messageId: 0 });
    const test = await sms.send({ to: c.phone, body: TEST_SEND_PREFIX + BODY });
    peer.answer(c.phone, BODY);
    const answer = peer.messages.at(-1)!.sid;
    const elsewhere = await sms.send({ to: nextPhone(), body: BODY });
    const masked = `${c.phone.slice(0, 5)}***${c.phone.slice(-4)}`;

    expect((await command(sam, `sent ${id} ${c.sids[0]}`)).text).toBe('Sorry Sam, only approvers can run `/campaign sent`.');
    expect((await command(dana, 'sent')).text).toMatch(/^Usage: `\/campaign sent MESSAGE SMSID/);
    expect((await command(dana, `sent ${id}`)).text).toMatch(/^Usage: `\/campaign sent MESSAGE SMSID/);
    expect((await command(dana, `sent abc ${c.sids[0]}`)).text).toMatch(/^"abc" is not a message number\./);
    expect((await command(dana, `sent ${id} <script>`)).text).toMatch(/^"<script>" is not an SMS id/);
    expect((await command(dana, `sent ${id} ${c.sids[0]} ${c.sids[0]}`)).text).toBe('The same SMS id is given twice: give each SMS of the message once.');
    expect((await command(dana, `sent ${id} ${c.sids[0]} ${other.providerMessageId}`)).text).toBe(`Message ${id} is one SMS, and 2 ids were given.`);
    expect((await command(dana, `sent 99999999 ${c.sids[0]}`)).text).toBe('There is no message 99999999: use the number shown on the card in review.');
    expect((await command(dana, `sent ${id} SM${'0'.repeat(32)}`)).text).toBe(`The provider has no SMS SM${'0'.repeat(32)} to ${masked} since message ${id} was written: check the id and the number in its log.`);
    expect((await command(dana, `sent ${id} ${elsewhere.providerMessageId}`)).text).toMatch(/^The provider has no SMS .+ to \+1\d{3}\*\*\*\d{4} since message/);
    expect((await command(dana, `sent ${id} ${other.providerMessageId}`)).text).toBe(`SMS ${other.providerMessageId} has another text than message ${id}: check the id in the provider's log.`);
    expect((await command(dana, `sent ${id} ${test.providerMessageId}`)).text).toBe(`SMS ${test.providerMessageId} is a test send, not this message.`);
    expect((await command(dana, `sent ${id} ${answer}`)).text).toBe(`SMS ${answer} is an automatic answer to an SMS from ${masked}, not a campaign message.`);
    expect(await statusOf(db, id)).toMatchObject({ status: 'needs_review', provider_message_id: null });

    const campaignId = await insertCampaign(db.pool, { name: `byhand-${engine}-approved-${n}` });
    const approved = await insertMessage(db.pool, { campaignId, status: 'approved', phone: c.phone });
    expect((await command(dana, `sent ${approved} ${c.sids[0]}`)).text).toBe(`Message ${approved} is approved: only a message in review can be recorded as sent by hand.`);
    const late = await insertMessage(db.pool, { campaignId: await insertCampaign(db.pool, { name: `byhand-${engine}-late-${n}` }), status: 'needs_review', phone: c.phone });
    expect((await command(dana, `sent ${late} ${c.sids[0]}`)).text).toBe(
      `Message ${late} was never sent by smsops (it is in review before any attempt): approve it to send it, or reject it.`,
    );
    expect((await loadCard(db.pool, ctx, late)).statusHint).toBeNull();

    // The right id still works after all that.
    expect((await command(dana, `sent ${id} ${c.sids[0]}`)).text).toMatch(/is recorded as sent/);
    expect(sentTo(c.phone).filter((m) => m.body === BODY)).toHaveLength(1);
  });

  it('two managers at once: on one message, one records it; one SMS for two messages, one of them gets it', async () => {
    const c = await orphans([BODY, BODY], [0]);
    await reconcile();
    const same = await Promise.all([command(dana, `sent ${c.ids[0]} ${c.sids[0]}`), command(lee, `sent ${c.ids[0]} ${c.sids[0]}`)]);
    // The second finds it sent when it reads the message, or when it reaches the row.
    expect(same.filter((r) => /is recorded as sent/.test(r.text))).toHaveLength(1);
    expect(same.filter((r) => new RegExp(`^Message ${c.ids[0]} is sent( now: nothing was recorded|: only a message in review can be recorded as sent by hand)\\.$`).test(r.text))).toHaveLength(1);
    expect((await auditFor(db.pool, 'message', c.ids[0]!)).filter((a) => a.action === 'recorded_sent_by_hand')).toHaveLength(1);
    expect((await postTexts(db.pool, 'Recorded as sent (by hand)')).filter((t) => t.includes(`message ${c.ids[0]} `))).toHaveLength(1);

    const d = await orphans([BODY, BODY], [0]);
    await reconcile();
    const split = await Promise.all([command(dana, `sent ${d.ids[0]} ${d.sids[0]}`), command(lee, `sent ${d.ids[1]} ${d.sids[0]}`)]);
    expect(split.filter((r) => /is recorded as sent/.test(r.text))).toHaveLength(1);
    expect(split.filter((r) => /is message \d+.s already: nothing was recorded/.test(r.text)), JSON.stringify(split)).toHaveLength(1);
    const statuses = [(await statusOf(db, d.ids[0]!)).status, (await statusOf(db, d.ids[1]!)).status].sort();
    expect(statuses).toEqual(['needs_review', 'sent']);
  });

  // Its callback lost (which is why it came back for review), the list is all that says how it ended.
  it('an SMS the provider lists as failed or canceled is refused; one listed undelivered is recorded as undelivered, and spends the error budget', async () => {
    for (const status of ['failed', 'canceled']) {
      const a = await message('needs_review');
      const x = await sms.send({ to: a.phone, body: BODY, messageId: a.id });
      peer.messages.find((m) => m.sid === x.providerMessageId)!.status = status;
      expect((await command(dana, `sent ${a.id} ${x.providerMessageId}`)).text).toBe(
        `The provider lists SMS ${x.providerMessageId} as ${status}: it never reached the phone, so nothing was recorded. Approve the message to send it again, or reject it.`,
      );
      expect((await statusOf(db, a.id)).status).toBe('needs_review');
    }

    const b = await message('needs_review', { settings: { errorBudget: 1, errorBudgetWindow: 5 } });
    const y = await sms.send({ to: b.phone, body: BODY, messageId: b.id });
    peer.messages.find((m) => m.sid === y.providerMessageId)!.status = 'undelivered';
    expect((await command(dana, `sent ${b.id} ${y.providerMessageId}`)).text).toMatch(/is recorded as sent/);
    expect(await statusOf(db, b.id)).toMatchObject({ status: 'undelivered', provider_message_id: y.providerMessageId, last_error: 'the carrier reported undelivered' });
    expect((await campaignStatusOf(db, b.campaignId)).status).toBe('paused');
  });

  // Taken for A, B's SMS would leave B looking absent at reconciliation, and B would go again.
  it('an SMS that a message being sent to the same number may own is refused, and nothing goes twice', async () => {
    const a = await message('needs_review');
    const b = await message('sending', { phone: a.phone, customerId: a.customerId });
    // B's sender got its SMS accepted and has not recorded it yet.
    const x = await sms.send({ to: a.phone, body: BODY, messageId: b.id });
    const reply = await command(dana, `sent ${a.id} ${x.providerMessageId}`);

    // B's sender dies; reconciliation looks for B's SMS, then the dispatcher runs.
    await reconcile();
    await new Dispatcher(ctx, sms, { bubbleGapMs: 0 }).sendDue();

    expect(sentTo(a.phone).filter((m) => m.body === BODY)).toHaveLength(1);
    expect(reply.text).toBe(
      `Message ${b.id} to the same number is being sent, and this SMS may be its own: nothing was recorded. Try again in a few minutes, once it is settled.`,
    );
    expect((await statusOf(db, a.id)).status).toBe('needs_review');
  });

  it('an SMS that a message being reconciled may own is refused; with no text kept, any such message holds it', async () => {
    const a = await message('needs_review');
    const b = await message('unknown', { phone: a.phone, customerId: a.customerId });
    const x = await sms.send({ to: a.phone, body: BODY, messageId: b.id });
    expect((await command(dana, `sent ${a.id} ${x.providerMessageId}`)).text).toBe(
      `Message ${b.id} to the same number is being reconciled with the provider, and this SMS may be its own: nothing was recorded. Try again in a few minutes, once it is settled.`,
    );
    peer.keptText = 'discarded';
    const c = await message('needs_review');
    const d = await message('sending', { phone: c.phone, customerId: c.customerId, body: 'Another text altogether. Reply STOP to opt out' });
    const y = await sms.send({ to: c.phone, body: BODY, messageId: c.id });
    expect((await command(dana, `sent ${c.id} ${y.providerMessageId}`)).text).toMatch(new RegExp(`^Message ${d.id} to the same number is being sent, and this SMS may be its own`));
    expect((await statusOf(db, c.id)).status).toBe('needs_review');
  });

  // No text kept, no [TEST] to see: the test send's audit row knows its id.
  it('a test send is refused even when the provider keeps no text', async () => {
    peer.keptText = 'discarded';
    const a = await message('needs_review');
    expect((await command(dana, `test ${a.name} ${a.phone}`)).text).toMatch(/^Test message sent to /);
    const testSid = sentTo(a.phone).at(-1)!.sid;
    expect(sentTo(a.phone).at(-1)!.submitted.startsWith('[TEST] ')).toBe(true);

    const reply = await command(dana, `sent ${a.id} ${testSid}`);
    expect(reply.text).toBe(`SMS ${testSid} is a test send, not this message.`);
    expect((await statusOf(db, a.id)).status).toBe('needs_review');
  });

  it('a provider that does not answer: the reply says nothing was recorded and to try again', async () => {
    const a = await message('needs_review');
    const x = await sms.send({ to: a.phone, body: BODY, messageId: a.id });
    const down = testContext(db, { ...env(), TWILIO_API_URL: 'http://127.0.0.1:1' });
    const reply = await campaignCommand(down, dana, `sent ${a.id} ${x.providerMessageId}`);
    expect((await statusOf(db, a.id)).status).toBe('needs_review');
    expect(reply.text).toMatch(/^Could not check with the provider \(.+\): nothing was recorded\. Try again in a minute\.$/);
  });

  it('hostile MESSAGE text is not echoed back whole', async () => {
    const reply = await command(dana, `sent ${'<!channel>'.repeat(300)} SM${'0'.repeat(32)}`);
    expect(reply.text).toMatch(/is not a message number/);
    expect(reply.text.length).toBeLessThan(600);
  });

  // Number() reads each as message 10.
  it('a MESSAGE that is not written as a plain number is refused', async () => {
    for (const odd of ['1e1', '0x0a', '0b1010']) {
      expect((await command(dana, `sent ${odd} SM${'0'.repeat(32)}`)).text).toMatch(new RegExp(`^"${odd}" is not a message number`));
    }
  });

  it('an id held as another message\'s second bubble is refused', async () => {
    const a = await message('needs_review');
    const x = await sms.send({ to: a.phone, body: BODY, messageId: a.id });
    const campaignId = await insertCampaign(db.pool, { name: `review-${engine}-owner-${++n}` });
    const owner = await insertMessage(db.pool, { campaignId, status: 'sent', phone: a.phone, body: `Hi![BUBBLE]${BODY}` });
    await db.pool.query(`UPDATE campaign_messages SET extra_provider_ids = $2 WHERE id = $1`, [owner, [x.providerMessageId]]);
    expect((await command(dana, `sent ${a.id} ${x.providerMessageId}`)).text).toBe(`SMS ${x.providerMessageId} is message ${owner}'s already: nothing was recorded. Check the id in the provider's log.`);
    expect((await statusOf(db, a.id)).status).toBe('needs_review');
  });
});
