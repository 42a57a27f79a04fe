/**
 * The Twilio peer misbehaving at random under a stream of sends (the real twilio client,
 * the real dispatcher): 500s and 429s (refused), hangs past the client timeout and dropped
 * connections after acceptance, plus an outage where every call fails and the listing used
 * by reconciliation fails too. Reconciliation must find every accepted message (exactly
 * one provider-side send each) and re-send only the refused ones: also when Twilio keeps
 * the texts Smart-Encoded (curly quotes, dashes and "…" made plain), so that its list no
 * longer shows the texts we sent. With texts not kept at all (content retention "discard"),
 * nothing is sent twice and what went with an unknown outcome waits for a person.
 * (test/sms/twilio.faults.test.ts pins each fault on one message; this is the mix at volume.)
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import type { TwilioSmsProvider } from '../../src/sms/twilio.ts';
import { openTestDatabase } from '../support/db.ts';
import { TwilioPeer, type TwilioFault } from '../peers/twilio.ts';
import { testContext } from '../scheduler/support.ts';
import { checkInvariants, expectNoViolations, peerSends } from './support/invariants.ts';
import { seedApproved, settled, statusCounts } from './support/harness.ts';

const SID = 'AC00000000000000000000000000000fc3';
const TOKEN = 'fault-token';
const engine = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

describe(`Twilio faults at volume on ${engine}`, () => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  let peer: TwilioPeer;
  let sms: TwilioSmsProvider;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db);
    peer = await new TwilioPeer(SID, TOKEN, { now: () => ctx.clock.now() }).start();
    sms = peer.provider({ timeoutMs: 250 });
  });
  afterAll(async () => {
    await peer?.stop();
    await db?.close();
  });

  /**
   * `n` approved messages through a reproducible fault script (about 30% of first calls
   * fail, a third of those after acceptance) and a two-round outage, the peer keeping texts
   * `kept`, until nothing is left to send or reconcile.
   */
  async function throughFaults(kept: TwilioPeer['keptText'], phoneBase: number, text: string, n: number) {
    peer.messages.splice(0);
    peer.requests.splice(0);
    peer.keptText = kept;
    const { campaignId } = await seedApproved(db.pool, { name: `twilio-mix-${kept}`, n, phoneBase, text, firstAt: new Date(ctx.clock.now().getTime() - 1000) });
    const faults = fc.sample(
      fc.oneof(
        { weight: 70, arbitrary: fc.constant<TwilioFault | null>(null) },
        { weight: 10, arbitrary: fc.constant<TwilioFault | null>('http500') },
        { weight: 8, arbitrary: fc.constant<TwilioFault | null>('http429') },
        { weight: 6, arbitrary: fc.constant<TwilioFault | null>('drop') },
        { weight: 6, arbitrary: fc.constant<TwilioFault | null>('hang') },
      ),
      { numRuns: n, seed: 4242 },
    );
    const dispatcher = new Dispatcher(ctx, sms, { batchSize: 50, concurrency: 8, bubbleGapMs: 0, settleMs: 30_000 });

    // Each number's first attempt meets its scripted fault; later attempts go through.
    const { rows: phones } = await db.pool.query<{ phone: string }>('SELECT phone FROM campaign_messages WHERE campaign_id = $1 ORDER BY id', [campaignId]);
    phones.forEach((p, i) => peer.failFor(p.phone, faults[i] ?? null));
    const clearTried = async () => {
      const { rows } = await db.pool.query<{ phone: string }>('SELECT phone FROM campaign_messages WHERE campaign_id = $1 AND attempts > 0', [campaignId]);
      for (const r of rows) peer.failFor(r.phone, null);
    };
    let rounds = 0;
    const listing = sms.listSent.bind(sms);
    while (!(await settled(db.pool, campaignId)) && rounds < 200) {
      rounds++;
      // Rounds 3-4: Twilio is down (every create answers 500, and the listing reconciliation needs fails).
      const outage = rounds === 3 || rounds === 4;
      if (outage) {
        peer.failNext(...Array.from({ length: 50 }, () => 'http500' as const));
        sms.listSent = () => Promise.reject(new Error('connect ECONNREFUSED'));
      }
      await dispatcher.runOnce();
      await dispatcher.reconcileOnce();
      sms.listSent = listing;
      await clearTried();
      ctx.clock.advance(31_000);
    }
    const posts = peer.requests.filter((r) => r.method === 'POST').length;
    return { campaignId, rounds, summary: `${faults.filter(Boolean).length} scripted faults + a two-round outage over ${posts} create calls in ${rounds} rounds` };
  }

  it.each([
    { kept: 'as_sent', phoneBase: 4_000_000, text: ', we miss you at Bloom Bakery! Reply STOP to opt out' },
    { kept: 'smart_encoded', phoneBase: 4_100_000, text: ', we\u2019ve missed you at Bloom Bakery \u2014 \u201cfresh\u201d bread\u2026 Reply STOP to opt out' },
  ] as const)('300 sends through random 500/429/hang/drop faults and a full outage, texts kept $kept: each accepted message found once, nothing sent twice', async ({ kept, phoneBase, text }) => {
    const n = 300;
    const { campaignId, summary } = await throughFaults(kept, phoneBase, text, n);
    const counts = await statusCounts(db.pool, campaignId);
    expect(counts).toEqual({ sent: n });
    expect(new Set(peer.messages.map((m) => m.to)).size).toBe(n);
    expect(peer.messages).toHaveLength(n);
    // Precondition of the variant: Smart-Encoded, Twilio lists none of the texts we sent (the counts above show reconciliation matched past that).
    expect(peer.messages.filter((m) => m.body !== m.submitted)).toHaveLength(kept === 'smart_encoded' ? n : 0);

    const report = await checkInvariants(db.pool, { config: ctx.config, sends: peerSends(peer.messages), campaignIds: [campaignId] });
    expectNoViolations(report, n);
    console.log(`[faults] twilio (texts kept ${kept}): ${summary}; checked ${report.checked}, provider sends ${report.providerSends}, lost ${report.lost}, twice ${report.sentTwice}`);
  });

  it('the same with texts Twilio does not keep: nothing sent twice; a message that went with its outcome unknown waits for a person', async () => {
    const n = 300;
    const { campaignId, summary } = await throughFaults('discarded', 4_200_000, ', we miss you at Bloom Bakery! Reply STOP to opt out', n);
    const { rows } = await db.pool.query<{ phone: string; status: string; provider_message_id: string | null; last_error: string | null }>(
      'SELECT phone, status, provider_message_id, last_error FROM campaign_messages WHERE campaign_id = $1',
      [campaignId],
    );
    const atPeer = new Map<string, string[]>();
    for (const m of peer.messages) atPeer.set(m.to, [...(atPeer.get(m.to) ?? []), m.sid]);
    // Never twice: at most one SMS per number.
    expect([...atPeer.values()].filter((sids) => sids.length > 1)).toEqual([]);
    const review = rows.filter((r) => r.status === 'needs_review');
    const sent = rows.filter((r) => r.status === 'sent');
    expect(sent.length + review.length).toBe(n);
    // Those accepted before their answer was lost (hang, drop) are in Twilio's list without a text: a person decides.
    expect(review.length).toBeGreaterThan(0);
    for (const r of review) {
      expect(atPeer.get(r.phone)).toHaveLength(1);
      expect(r.last_error).toMatch(/^no SMS with its text at the provider, but an SMS to this number since this attempt that no message here accounts for/);
    }
    // The rest went once each, recorded with the SMS Twilio accepted for them.
    for (const r of sent) expect(atPeer.get(r.phone)).toEqual([r.provider_message_id]);
    console.log(`[faults] twilio (texts discarded): ${summary}; ${sent.length} sent, ${review.length} waiting for a person, ${peer.messages.length} SMS at the provider, none twice`);
  });
});
