/**
 * "Please stop texting me" is not a keyword: the reply is flagged in the thread as a likely
 * opt-out, with the command that records it (`/campaign optout reply:ID`: threads show
 * numbers masked). Recorded by an approver, it does what the customer's STOP would: opted
 * out, everything pending to the number cancelled in every campaign, the thread told who did
 * it; the dispatcher sends nothing more; only the customer's START undoes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/bot/actor.ts';
import type { Database } from '../../src/db/database.ts';
import { auditFor } from '../../src/db/queries/audit.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import { handleInboundSms } from '../../src/sms/inbound.ts';
import { OutboxSmsProvider } from '../../src/sms/outbox.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertBatch, insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { campaignCommand, dana, lee, postTexts, sam } from '../support/chat.ts';
import { contactStatusOf, outboxFor, statusOf, testContext } from '../scheduler/support.ts';

describe.each(engines)('an opt-out recorded by hand, on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  let n = 0;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db, { RECIPIENT_QUIET_HOURS: 'off' });
  });
  afterAll(() => db?.close());

  const command = (actor: Actor, text: string) => campaignCommand(ctx, actor, text);

  /** A customer with a sent message in one campaign (its batch thread) and approved ones due in two others. */
  async function customerWithPending() {
    n++;
    const c = await insertCustomer(db.pool, { name: `Robin ${n}`, timezone: 'America/Los_Angeles', state: 'CA' });
    const first = await insertCampaign(db.pool, { name: `hand-${engine}-${n}-a` });
    await insertMessage(db.pool, { campaignId: first, batchId: await insertBatch(db.pool, first), status: 'sent', phone: c.phone, customerId: c.id });
    const due = new Date(ctx.clock.now().getTime() - 60_000);
    const pending = [];
    for (const x of ['b', 'c']) {
      const campaignId = await insertCampaign(db.pool, { name: `hand-${engine}-${n}-${x}` });
      pending.push(await insertMessage(db.pool, { campaignId, status: 'approved', phone: c.phone, customerId: c.id, scheduledAt: due }));
    }
    return { ...c, pending };
  }

  it('the likely opt-out shows the command; running it opts the number out, cancels what is pending and tells the thread', async () => {
    const c = await customerWithPending();
    const r = await handleInboundSms(ctx, { providerMessageId: `SMhand${engine}1`, from: c.phone, body: 'please stop texting me' });
    expect(r).toMatchObject({ kind: 'reply', likelyOptOut: true });
    const flagged = (await postTexts(db.pool, 'Reply: looks like an opt-out request')).at(-1)!;
    const ref = /\/campaign optout (reply:\d+)$/.exec(flagged)?.[1];
    expect(ref).toBeDefined();
    // Nothing is recorded until a person decides.
    expect(await contactStatusOf(db, c.phone)).toBeUndefined();

    const reply = await command(dana, `optout ${ref}`);
    expect(reply.text).toMatch(/^\+1\d{3}\*\*\*\d{4} is opted out\. 2 pending messages to it cancelled\. Only the customer can undo it, by texting START\.$/);
    expect(await contactStatusOf(db, c.phone)).toEqual({ status: 'opted_out', keyword: 'manual', source: 'manual' });
    for (const id of c.pending) expect((await statusOf(db, id)).status).toBe('cancelled');
    expect((await postTexts(db.pool, 'Opt-out (recorded by hand)')).at(-1)).toBe(`Dana recorded an opt-out for Robin ${n} (${c.phone.slice(0, 5)}***${c.phone.slice(-4)}). 2 pending messages to it cancelled.`);
    expect((await auditFor(db.pool, 'contact', c.phone)).map((a) => [a.actor, a.action])).toEqual([['Dana', 'opted_out_by_hand']]);

    // The dispatcher sends nothing to it, and a message approved to it later is cancelled at its claim.
    const later = await insertCampaign(db.pool, { name: `hand-${engine}-${n}-later` });
    const id = await insertMessage(db.pool, { campaignId: later, status: 'approved', phone: c.phone, customerId: c.id, scheduledAt: new Date(ctx.clock.now().getTime() - 1000) });
    await new Dispatcher(ctx, new OutboxSmsProvider(db.pool, ctx.clock), { bubbleGapMs: 0 }).sendDue();
    expect((await statusOf(db, id)).status).toBe('cancelled');
    expect(await outboxFor(db, c.phone)).toEqual([]);

    // Only the customer undoes it.
    await handleInboundSms(ctx, { providerMessageId: `SMhand${engine}2`, from: c.phone, body: 'START' });
    expect(await contactStatusOf(db, c.phone)).toMatchObject({ status: 'subscribed' });
  });

  it('takes a full number in any usual format; a second time changes nothing and posts nothing', async () => {
    const c = await customerWithPending();
    const local = `(${c.phone.slice(2, 5)}) ${c.phone.slice(5, 8)}-${c.phone.slice(8)}`;
    expect((await command(dana, `optout ${local}`)).text).toMatch(/is opted out\. 2 pending messages to it cancelled\./);
    const postsBefore = (await postTexts(db.pool, 'Opt-out (recorded by hand)')).length;
    expect((await command(dana, `optout ${c.phone}`)).text).toMatch(/^\+1\d{3}\*\*\*\d{4} was already opted out: nothing is sent to it\.$/);
    expect((await postTexts(db.pool, 'Opt-out (recorded by hand)')).length).toBe(postsBefore);
    expect(await auditFor(db.pool, 'contact', c.phone)).toHaveLength(1);
  });

  it('two managers recording it at once: one opt-out, one post, one audit row', async () => {
    const c = await customerWithPending();
    const replies = await Promise.all([command(dana, `optout ${c.phone}`), command(lee, `optout ${c.phone}`)]);
    expect(replies.map((r) => r.text).sort()).toEqual([
      expect.stringMatching(/is opted out\. 2 pending messages to it cancelled\./),
      expect.stringMatching(/was already opted out: nothing is sent to it\.$/),
    ].sort());
    expect(await auditFor(db.pool, 'contact', c.phone)).toHaveLength(1);
    const mine = (await postTexts(db.pool, 'Opt-out (recorded by hand)')).filter((t) => t.includes(`Robin ${n} `));
    expect(mine).toHaveLength(1);
  });

  it('needs an approver, and says what is wrong with what it was given', async () => {
    const c = await customerWithPending();
    expect((await command(sam, `optout ${c.phone}`)).text).toBe('Sorry Sam, only approvers can run `/campaign optout`.');
    expect(await contactStatusOf(db, c.phone)).toBeUndefined();
    for (const id of c.pending) expect((await statusOf(db, id)).status).toBe('approved');

    expect((await command(dana, 'optout')).text).toMatch(/^Usage: `\/campaign optout PHONE` or `\/campaign optout reply:ID`/);
    expect((await command(dana, 'optout 12345')).text).toMatch(/^Cannot record an opt-out for "12345": .+\. Give the full number \(\+14155550123\) or reply:ID from the thread\.$/);
    expect((await command(dana, 'optout reply:99999999')).text).toBe('There is no reply 99999999: use the command shown under the reply, or the full phone number.');
    expect(await contactStatusOf(db, c.phone)).toBeUndefined();
  });
});
