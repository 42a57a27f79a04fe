/**
 * Reconciliation finds a message's SMS by its text in Twilio's list. Twilio may keep that
 * text transliterated (Smart Encoding: curly quotes, accents used as apostrophes, dashes,
 * fractions, odd spaces made plain) or not at all (content retention "discard"): a message
 * that went must not look absent and go again, nor another message take its SMS.
 * The real `twilio` client against the local Twilio peer, counted at the provider.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import { sameSmsText, smsSkeleton } from '../../src/sms/providerText.ts';
import type { TwilioSmsProvider } from '../../src/sms/twilio.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer } from '../support/fixtures.ts';
import { TwilioPeer } from '../peers/twilio.ts';
import { insertAttemptedMessage, reconcilePastLeaseAndSettle, statusOf, testContext } from '../scheduler/support.ts';

const SID = 'AC00000000000000000000000000000002';
const TOKEN = 'peer-auth-token';
const CURLY = 'Hi Sam, we\u2019ve missed you \u2014 \u201c10% off\u201d this week\u2026 Reply STOP to opt out';

describe('texts compared as the provider may have transliterated them', () => {
  it.each([
    ['Hi Sam, we\'ve missed you - "10% off" this week... Reply STOP to opt out', CURLY, 'curly quotes, dash, ellipsis'],
    ["Aloha from Hawai'i! 20% off", 'Aloha from Hawai\u02BBi! 20% off', 'okina'],
    ["Joe's Diner: 20% off", 'Joe\u00B4s Diner: 20% off', 'acute accent as an apostrophe'],
    ['1/2 price appetizers tonight', '\u00BD price appetizers tonight', 'a fraction'],
    ['Hi Sam, 10%-off \u2022 today', 'Ｈｉ\u00A0Sam,\u200B  10%\u2011off - today', 'full-width letters, no-break and zero-width spaces, bullets'],
  ])('%j is the SMS of %j (%s)', (shown, sent) => {
    expect(sameSmsText(shown, sent)).toBe(true);
  });

  it('different words, numbers or links stay different; a text without letters or digits is compared as it is', () => {
    expect(sameSmsText('Hi Sam, 10% off this week', 'Hi Sam, 20% off this week')).toBe(false);
    expect(sameSmsText('Hi Sam, 10% off', 'Hi Pat, 10% off')).toBe(false);
    expect(sameSmsText('Book at bella.example/a', 'Book at bella.example/b')).toBe(false);
    expect(sameSmsText('hi sam', 'Hi Sam')).toBe(false);
    expect(sameSmsText('', 'Hi Sam')).toBe(false);
    expect(smsSkeleton('\u00BD off!')).toBe('12off');
    expect(sameSmsText('!!', '?!')).toBe(false);
    expect(sameSmsText(' !! ', '!!')).toBe(true);
  });
});

describe.each(engines)('reconciling against the texts Twilio keeps, on %s', (engine) => {
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
  beforeEach(() => {
    peer.keptText = 'as_sent';
  });
  afterAll(async () => {
    await peer?.stop();
    await db?.close();
  });

  const dispatcher = () => new Dispatcher(ctx, sms, { settleMs: 30_000, bubbleGapMs: 0 });
  const sentTo = (phone: string) => peer.messages.filter((m) => m.to === phone && m.direction === 'outbound-api').length;

  /** A message whose sender died after the provider call (`went`) or before it: claimed, outcome never recorded. */
  async function orphan(opts: { body?: string; went: boolean; phone?: string }) {
    const campaignId = await insertCampaign(db.pool, { name: `kept-${engine}-${++n}` });
    const c = opts.phone ? { id: undefined, phone: opts.phone } : await insertCustomer(db.pool, { timezone: 'America/Los_Angeles', state: 'CA' });
    const body = opts.body ?? CURLY;
    const id = await insertAttemptedMessage(db, { campaignId, phone: c.phone, customerId: c.id, body, scheduledAt: new Date(ctx.clock.now().getTime() - 1000), attemptAt: ctx.clock.now() });
    if (opts.went) await sms.send({ to: c.phone, body, messageId: id });
    return { id, phone: c.phone };
  }

  /** Reconciled past the lease and the settle time, then a dispatch round. */
  async function reconcileThenDispatch() {
    await reconcilePastLeaseAndSettle(ctx.clock, dispatcher());
    await dispatcher().sendDue();
  }

  it('a text Smart Encoding changed is found: recorded sent with its SMS, not sent again', async () => {
    peer.keptText = 'smart_encoded';
    const m = await orphan({ went: true });
    expect(peer.messages.at(-1)!.body).not.toBe(CURLY); // what Twilio lists is not what we sent
    await reconcileThenDispatch();
    expect(await statusOf(db, m.id)).toMatchObject({ status: 'sent', provider_message_id: peer.messages.at(-1)!.sid });
    expect(sentTo(m.phone)).toBe(1);
  });

  it('a text with a fraction and an okina that Smart Encoding transliterated is found, not sent to review', async () => {
    peer.keptText = 'smart_encoded';
    const m = await orphan({ went: true, body: '\u00BD price poke at Hawai\u02BBi Kai tonight. Reply STOP to opt out' });
    await reconcileThenDispatch();
    expect((await statusOf(db, m.id)).status).toBe('sent');
    expect(sentTo(m.phone)).toBe(1);
  });

  it("two open messages to one number, typed Hawai\u02BBi and Hawai'i, one went: no double send, and neither takes the SMS by a guess", async () => {
    peer.keptText = 'smart_encoded';
    const m = await orphan({ went: true, body: 'Aloha from Hawai\u02BBi! 20% off this week. Reply STOP to opt out' });
    const other = await orphan({ went: false, phone: m.phone, body: "Aloha from Hawai'i! 20% off this week. Reply STOP to opt out" });
    await reconcileThenDispatch();
    // One SMS for two same-text messages: both go to a person, as any two such rivals do.
    expect((await statusOf(db, m.id)).status).toBe('needs_review');
    expect((await statusOf(db, other.id)).status).toBe('needs_review');
    expect(sentTo(m.phone)).toBe(1);
  });

  it('a text Twilio did not keep goes to a person, not out again', async () => {
    peer.keptText = 'discarded';
    const m = await orphan({ went: true });
    await reconcileThenDispatch();
    const s = await statusOf(db, m.id);
    expect(s.status).toBe('needs_review');
    expect(s.last_error).toBe(
      "no SMS with its text at the provider, but an SMS to this number since this attempt that no message here accounts for: the provider may have changed or dropped the text it keeps. Check the provider's log; approve again only if it did not go",
    );
    expect(sentTo(m.phone)).toBe(1);
  });

  it('an answer to the customer\'s HELP, or the SMS of another open message, does not hold back one that never went', async () => {
    const other = await orphan({ went: true, body: 'Another campaign, another text. Reply STOP to opt out' });
    peer.answer(other.phone, 'Reply STOP to unsubscribe or START to resubscribe.');
    const m = await orphan({ went: false, phone: other.phone });
    await reconcileThenDispatch();
    // The other message's SMS is its own; this one never went, so it goes now, once.
    expect((await statusOf(db, other.id)).status).toBe('sent');
    expect((await statusOf(db, m.id)).status).toBe('sent');
    expect(peer.messages.filter((x) => x.to === m.phone && x.body === CURLY)).toHaveLength(1);
  });
});
