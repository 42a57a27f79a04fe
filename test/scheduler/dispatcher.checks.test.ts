/**
 * The dispatcher against the local outbox provider: what goes out, what is held, what is
 * cancelled or sent back for review, and that the attempt is on record before the send.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ScaledClock } from '../../src/clock.ts';
import type { Database } from '../../src/db/database.ts';
import { auditFor } from '../../src/db/queries/audit.ts';
import { measureMessage } from '../../src/generator/lint.ts';
import { handleInboundSms } from '../../src/sms/inbound.ts';
import { OutboxSmsProvider } from '../../src/sms/outbox.ts';
import { SmsSendError, type OutboundSms, type SmsProvider } from '../../src/sms/provider.ts';
import { silentLogger } from '../../src/log.ts';
import { cancelCampaign, pauseCampaign, resumeCampaign } from '../../src/scheduler/controls.ts';
import { Dispatcher, type DispatcherOptions } from '../../src/scheduler/dispatcher.ts';
import { replanCampaign } from '../../src/scheduler/planner.ts';
import { renderProgress } from '../../src/scheduler/progress.ts';
import { timelineSince } from '../../src/scheduler/queries.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertBatch, insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { campaignStatusOf, insertAttemptedMessage, insertDueMessage, outboxFor, statusOf, testContext, WEDNESDAY_10AM_LA } from './support.ts';

describe.each(engines)('dispatcher checks on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  let n = 0;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db);
  });
  afterAll(() => db?.close());

  async function due(opts: { settings?: Record<string, unknown>; status?: string; consent?: string; body?: string; minutesAgo?: number; testMode?: string[] } = {}) {
    const campaignId = await insertCampaign(db.pool, { name: `c${++n}-${engine}`, status: opts.status, settings: opts.settings });
    if (opts.testMode) await db.pool.query('UPDATE campaigns SET test_mode = true, test_numbers = $2 WHERE id = $1', [campaignId, opts.testMode]);
    const { id, phone } = await insertDueMessage(db, ctx.clock.now(), { campaignId, consent: opts.consent, body: opts.body, msAgo: (opts.minutesAgo ?? 1) * 60_000 });
    return { campaignId, id, phone };
  }

  const fresh = () => new Dispatcher(ctx, new OutboxSmsProvider(db.pool, ctx.clock), { bubbleGapMs: 0 });

  it('sends a due message once, with the attempt recorded before the provider call', async () => {
    const m = await due();
    const seen: string[] = [];
    const spy: SmsProvider = {
      name: 'outbox',
      send: async (msg: OutboundSms) => {
        seen.push((await statusOf(db, m.id)).status);
        return new OutboxSmsProvider(db.pool, ctx.clock).send(msg);
      },
      listSent: async () => [],
    };
    await new Dispatcher(ctx, spy).runOnce();
    expect(seen).toEqual(['sending']);
    const s = await statusOf(db, m.id);
    expect(s).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(await outboxFor(db, m.phone)).toHaveLength(1);
    expect((await auditFor(db.pool, 'message', m.id)).map((a) => a.action)).toEqual(['sent', 'delivered']);
    await fresh().runOnce();
    expect(await outboxFor(db, m.phone)).toHaveLength(1);
  });

  it('cancels messages to opted-out numbers and to customers without consent, sending nothing', async () => {
    const out = await due();
    await db.pool.query(`INSERT INTO contact_status (phone, status, source) VALUES ($1, 'opted_out', 'test')`, [out.phone]);
    const noConsent = await due({ consent: 'unknown' });
    await fresh().runOnce();
    expect(await statusOf(db, out.id)).toMatchObject({ status: 'cancelled' });
    expect(await statusOf(db, noConsent.id)).toMatchObject({ status: 'cancelled' });
    expect(await outboxFor(db, out.phone)).toHaveLength(0);
    expect(await outboxFor(db, noConsent.phone)).toHaveLength(0);
  });

  it('holds a paused campaign and test-mode messages to non-test numbers', async () => {
    const paused = await due({ status: 'paused' });
    const test = await due({ testMode: ['+14155550100'] });
    await fresh().runOnce();
    expect(await statusOf(db, paused.id)).toMatchObject({ status: 'approved', attempts: 0 });
    expect(await statusOf(db, test.id)).toMatchObject({ status: 'approved', attempts: 0 });
  });

  it("sends a message past the allowed lateness back for review instead, and its batch's progress says so", async () => {
    const late = await due({ minutesAgo: 121 });
    const batchId = await insertBatch(db.pool, late.campaignId);
    await db.pool.query('UPDATE campaign_messages SET batch_id = $2 WHERE id = $1', [late.id, batchId]);
    await fresh().runOnce();
    expect(await statusOf(db, late.id)).toMatchObject({ status: 'needs_review' });
    expect(await outboxFor(db, late.phone)).toHaveLength(0);
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM chat_outbox WHERE kind = 'progress' AND batch_id = $1`, [batchId]);
    expect(rows[0].n).toBe(1);
    expect((await renderProgress(db.pool, ctx, batchId)).text).toBe('Waiting for review. 0 of 1 sent, 1 in review (see its card).');
  });

  it('moves a message found outside its windows to when they open, without sending', async () => {
    // 10:00 in Los Angeles, but business hours 12:00-13:00 there.
    const m = await due({ settings: { businessHours: { start: 720, end: 780 } } });
    await fresh().runOnce();
    const s = await statusOf(db, m.id);
    expect(s.status).toBe('approved');
    expect(s.scheduled_send_time!.toISOString()).toBe('2025-07-16T19:00:00.000Z');
  });

  it('messages found outside their windows together are paced from the opening, not sent there in one burst', async () => {
    // 10:00 in Los Angeles, business hours 12:00-13:00 there: five messages were due a minute ago.
    const first = await due({ settings: { businessHours: { start: 720, end: 780 } } });
    const ids = [first.id];
    for (let i = 0; i < 4; i++) ids.push((await insertDueMessage(db, ctx.clock.now(), { campaignId: first.campaignId })).id);
    const stats = await fresh().runOnce();
    expect(stats).toMatchObject({ claimed: 0, rescheduled: 5 });
    const slots = (await Promise.all(ids.map((id) => statusOf(db, id)))).map((s) => s.scheduled_send_time!.getTime()).sort((a, b) => a - b);
    expect(slots[0]).toBe(Date.parse('2025-07-16T19:00:00.000Z'));
    const gaps = slots.slice(1).map((t, i) => t - slots[i]!);
    expect(gaps.every((g) => g >= ctx.config.campaignDefaults.gapMinSeconds * 1000)).toBe(true);
  });

  it('a cap holds across processes whose clocks differ by seconds', async () => {
    const settings = { ratePerMinute: 2 };
    const first = await due({ settings });
    const ids = [first.id];
    for (let i = 0; i < 3; i++) ids.push((await insertDueMessage(db, ctx.clock.now(), { campaignId: first.campaignId })).id);
    // This process's clock runs 20 s ahead of the other one's: its attempts are stamped "later".
    const ahead = testContext(db, {}, new Date(ctx.clock.now().getTime() + 20_000).toISOString());
    await new Dispatcher(ahead, new OutboxSmsProvider(db.pool, ahead.clock), { bubbleGapMs: 0, batchSize: 2 }).runOnce();
    await fresh().runOnce();
    const statuses = await Promise.all(ids.map((id) => statusOf(db, id)));
    expect(statuses.filter((s) => s.status === 'delivered')).toHaveLength(2);
    expect(statuses.filter((s) => s.status === 'approved')).toHaveLength(2);
  });

  it('a round whose loop fails stops its other loops after the batch in hand, and reports the failure', async () => {
    const first = await due({ settings: { ratePerMinute: 1000, ratePerHour: 1000, ratePerDay: 1000 } });
    for (let i = 0; i < 11; i++) await insertDueMessage(db, ctx.clock.now(), { campaignId: first.campaignId, msAgo: 1000 });
    const taken = await insertMessage(db.pool, { campaignId: first.campaignId, status: 'sent' });
    const { rows } = await db.pool.query<{ p: string }>('SELECT provider_message_id AS p FROM campaign_messages WHERE id = $1', [taken]);
    // The first send's id is already another message's: recording it breaks a unique constraint.
    let calls = 0;
    const provider: SmsProvider = {
      name: 'outbox',
      send: async () => ({ providerMessageId: ++calls === 1 ? rows[0]!.p : `SMok${calls}-${engine}`, acceptedAt: new Date(), status: 'queued' }),
      listSent: async () => [],
    };
    const d = new Dispatcher(ctx, provider, { bubbleGapMs: 0, batchSize: 1, pipeline: 2 });
    await expect(d.sendDue()).rejects.toThrow(/unique|duplicate/i);
    expect(calls).toBeGreaterThan(1);
    expect(calls).toBeLessThan(6);
  });

  it('never exceeds the per-minute cap in one claim', async () => {
    const settings = { ratePerMinute: 2 };
    const first = await due({ settings });
    const ids = [first.id];
    for (let i = 0; i < 4; i++) {
      const customer = await insertCustomer(db.pool, { timezone: 'America/Los_Angeles' });
      ids.push(await insertMessage(db.pool, { campaignId: first.campaignId, status: 'approved', phone: customer.phone, customerId: customer.id, scheduledAt: new Date(ctx.clock.now().getTime() - 1000) }));
    }
    await fresh().runOnce();
    const statuses = await Promise.all(ids.map((id) => statusOf(db, id)));
    expect(statuses.filter((s) => s.status === 'delivered')).toHaveLength(2);
    expect(statuses.filter((s) => s.status === 'approved')).toHaveLength(3);
  });

  it('claims racing on one campaign never add up past its cap (two dispatchers, and one pipelined)', async () => {
    const settings = { ratePerMinute: 3 };
    for (let round = 0; round < 4; round++) {
      // Due before anything earlier tests left waiting, so the racers' batches are this campaign's.
      const first = await due({ settings, minutesAgo: 30 });
      const ids = [first.id];
      for (let i = 0; i < 11; i++) {
        const customer = await insertCustomer(db.pool, { timezone: 'America/Los_Angeles' });
        ids.push(await insertMessage(db.pool, { campaignId: first.campaignId, status: 'approved', phone: customer.phone, customerId: customer.id, scheduledAt: new Date(ctx.clock.now().getTime() - 29 * 60_000) }));
      }
      // Small batches, so each claim locks different messages of the same campaign at the same moment.
      const racer = (pipeline: number) => new Dispatcher(ctx, new OutboxSmsProvider(db.pool, ctx.clock), { bubbleGapMs: 0, batchSize: 3, pipeline });
      const results = round % 2 === 0 ? await Promise.all([racer(1).runOnce(), racer(1).runOnce()]) : [await racer(4).sendDue()];
      const statuses = await Promise.all(ids.map((id) => statusOf(db, id)));
      expect(statuses.filter((s) => s.status === 'delivered')).toHaveLength(3);
      expect(statuses.filter((s) => s.status === 'approved')).toHaveLength(9);
      expect(results.reduce((n, r) => n + r.claimed, 0)).toBe(3);
      await db.pool.query(`UPDATE campaign_messages SET status = 'cancelled', cancelled_reason = 'test' WHERE campaign_id = $1 AND status = 'approved'`, [first.campaignId]);
    }
  });

  it('held messages never stand in line in front of other campaigns: test mode waits aside, a capped campaign sits out the round', async () => {
    const batchSize = 3;
    const past = new Date(ctx.clock.now().getTime() - 5 * 60_000);
    const backlog = async (campaignId: number) => {
      const ids: number[] = [];
      for (let i = 0; i < batchSize * 3; i++) {
        const customer = await insertCustomer(db.pool, { timezone: 'America/Los_Angeles' });
        ids.push(await insertMessage(db.pool, { campaignId, status: 'approved', phone: customer.phone, customerId: customer.id, scheduledAt: past }));
      }
      return ids;
    };
    const testMode = (await due({ testMode: ['+14155550100'], minutesAgo: 10 })).campaignId;
    const held = await backlog(testMode);
    const capped = await due({ settings: { ratePerMinute: 2 }, minutesAgo: 10 });
    const late = await backlog(capped.campaignId);
    const behind = await due({ minutesAgo: 1 });

    await new Dispatcher(ctx, new OutboxSmsProvider(db.pool, ctx.clock), { bubbleGapMs: 0, batchSize }).sendDue();
    expect(await statusOf(db, behind.id)).toMatchObject({ status: 'delivered' });
    for (const id of held) expect(await statusOf(db, id)).toMatchObject({ status: 'approved', attempts: 0 });
    const cappedStatuses = await Promise.all([capped.id, ...late].map((id) => statusOf(db, id)));
    expect(cappedStatuses.filter((s) => s.status === 'delivered')).toHaveLength(2);
    // The rest keep their (late) slots: each later tick sends what the cap allows, until they are too late.
    expect(cappedStatuses.filter((s) => s.status === 'approved' && s.scheduled_send_time!.getTime() === past.getTime()), JSON.stringify(cappedStatuses)).toHaveLength(8);
    ctx.clock.advance(60_000);
    await new Dispatcher(ctx, new OutboxSmsProvider(db.pool, ctx.clock), { bubbleGapMs: 0, batchSize }).sendDue();
    const later = await Promise.all([capped.id, ...late].map((id) => statusOf(db, id)));
    expect(later.filter((s) => s.status === 'delivered')).toHaveLength(4);
  });

  it('sends [BUBBLE]s as separate SMS, in order, as one message', async () => {
    const m = await due({ body: 'Hi Ana! [BUBBLE] We saved you a seat. [BUBBLE] Reply STOP to opt out' });
    await fresh().runOnce();
    expect((await outboxFor(db, m.phone)).map((o) => o.body)).toEqual(['Hi Ana!', 'We saved you a seat.', 'Reply STOP to opt out']);
    const s = await statusOf(db, m.id);
    expect(s.status).toBe('delivered');
    expect(s.extra_provider_ids).toHaveLength(2);
  });

  it("waits the bubble gap on the app's clock: a demo's fast clock waits less real time", async () => {
    // 50x: the configured 3 s gap is 60 ms of real time (a real 3 s would be 150 s here).
    const fast = { ...ctx, clock: new ScaledClock(50, ctx.clock.now()) };
    const m = await due({ body: 'One. [BUBBLE] Two. [BUBBLE] Reply STOP to opt out' });
    const stats = await new Dispatcher(fast, new OutboxSmsProvider(db.pool, fast.clock)).runOnce();
    expect(stats).toMatchObject({ sent: 1 });
    const { rows } = await db.pool.query<{ created_at: Date }>('SELECT created_at FROM sms_outbox WHERE message_id = $1 ORDER BY bubble', [m.id]);
    expect(rows).toHaveLength(3);
    for (let i = 1; i < rows.length; i++) {
      const gap = rows[i]!.created_at.getTime() - rows[i - 1]!.created_at.getTime();
      expect(gap).toBeGreaterThanOrEqual(2_000); // about the gap (timers round to the millisecond)
      expect(gap).toBeLessThan(140_000); // a real 3 s wait: at least 150 s
    }
  });

  it('a lower-case [bubble] splits the send exactly as lint counted it (no marker ever reaches a phone)', async () => {
    const m = await due({ body: 'Hi Ana! [bubble] We saved you a seat. [Bubble]  Reply STOP to opt out' });
    expect(measureMessage((await db.pool.query('SELECT body FROM campaign_messages WHERE id = $1', [m.id])).rows[0].body).bubbles).toHaveLength(3);
    await fresh().runOnce();
    expect((await outboxFor(db, m.phone)).map((o) => o.body)).toEqual(['Hi Ana!', 'We saved you a seat.', 'Reply STOP to opt out']);
  });

  it('a STOP that lands while the send is in flight: the in-flight SMS goes once, nothing after it', async () => {
    const m = await due();
    const otherCampaign = await insertCampaign(db.pool, { name: `other-${engine}` });
    const pendingElsewhere = await insertMessage(db.pool, { campaignId: otherCampaign, status: 'approved', phone: m.phone, scheduledAt: new Date(ctx.clock.now().getTime() + 3_600_000) });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inFlight = new Promise<void>((r) => (entered = r));
    const slow: SmsProvider = {
      name: 'outbox',
      send: async (msg) => {
        entered();
        await gate;
        return new OutboxSmsProvider(db.pool, ctx.clock).send(msg);
      },
      listSent: (to, since) => new OutboxSmsProvider(db.pool, ctx.clock).listSent(to, since),
    };
    const run = new Dispatcher(ctx, slow).runOnce();
    await inFlight;
    const stop = await handleInboundSms(ctx, { providerMessageId: `SMin-${engine}-1`, from: m.phone, body: 'STOP' });
    expect(stop.cancelled).toBe(1);
    release();
    await run;
    await fresh().runOnce();
    expect(await outboxFor(db, m.phone)).toHaveLength(1);
    expect(await statusOf(db, pendingElsewhere)).toMatchObject({ status: 'cancelled' });
  });
  describe('the last look before each provider call', () => {
    /** A provider that does `during` inside its first call to `phone` (as a webhook or a manager would, meanwhile). */
    const doingOnce = (phone: string, during: () => Promise<unknown>): SmsProvider => {
      let done = false;
      return {
        name: 'outbox',
        send: async (msg) => {
          const r = await new OutboxSmsProvider(db.pool, ctx.clock).send(msg);
          if (!done && msg.to === phone) {
            done = true;
            await during();
          }
          return r;
        },
        listSent: async () => [],
      };
    };

    it('a STOP between the bubbles of a message: the rest of its bubbles do not go', async () => {
      const m = await due({ body: 'Hi there, we miss you! [BUBBLE] Come back this week. Reply STOP to opt out' });
      const stop = () => handleInboundSms(ctx, { providerMessageId: `SMin-${engine}-look-1`, from: m.phone, body: 'STOP' });
      await new Dispatcher(ctx, doingOnce(m.phone, stop), { bubbleGapMs: 0 }).runOnce();
      expect(await statusOf(db, m.id)).toMatchObject({ status: 'delivered' });
      expect((await outboxFor(db, m.phone)).map((o) => o.body)).toEqual(['Hi there, we miss you!']);
      expect((await statusOf(db, m.id)).last_error).toMatch(/only 1 of 2 bubbles went out: the recipient opted out between its bubbles/);
    });

    it('a STOP for a later message of the batch while an earlier one is sent: the later one is cancelled, not sent', async () => {
      const a = await due();
      const b = await due();
      const stop = () => handleInboundSms(ctx, { providerMessageId: `SMin-${engine}-look-2`, from: b.phone, body: 'STOP' });
      await new Dispatcher(ctx, doingOnce(a.phone, stop), { bubbleGapMs: 0, concurrency: 1 }).runOnce();
      expect(await outboxFor(db, a.phone)).toHaveLength(1);
      expect(await outboxFor(db, b.phone)).toHaveLength(0);
      expect(await statusOf(db, b.id)).toMatchObject({ status: 'cancelled', attempts: 1 });
      expect((await auditFor(db.pool, 'message', b.id)).map((x) => x.action)).toEqual(['cancelled_opted_out']);
    });

    it('a pause while the batch is being sent: the rest of the batch goes back on the timeline, and goes after the resume', async () => {
      const campaignId = await insertCampaign(db.pool, { name: `c${++n}-${engine}` });
      const ids: number[] = [];
      const phones: string[] = [];
      for (let i = 0; i < 3; i++) {
        const m = await insertDueMessage(db, ctx.clock.now(), { campaignId, msAgo: 60_000 - i });
        phones.push(m.phone);
        ids.push(m.id);
      }
      const pause = () => pauseCampaign(ctx, { campaignId, actor: 'dana', surface: 'console' });
      await new Dispatcher(ctx, doingOnce(phones[0]!, pause), { bubbleGapMs: 0, concurrency: 1 }).runOnce();
      expect((await Promise.all(ids.map((id) => statusOf(db, id)))).map((x) => x.status)).toEqual(['delivered', 'approved', 'approved']);
      expect((await auditFor(db.pool, 'message', ids[1]!)).map((x) => x.action)).toEqual(['held_campaign_not_sending']);
      await resumeCampaign(ctx, { campaignId, actor: 'dana', surface: 'console' });
      ctx.clock.advance(3_600_000);
      await fresh().sendDue();
      expect((await Promise.all(ids.map((id) => statusOf(db, id)))).map((x) => [x.status, x.attempts])).toEqual([['delivered', 1], ['delivered', 2], ['delivered', 2]]);
      ctx.clock.set(WEDNESDAY_10AM_LA);
    });

    it('a cancel while the batch is being sent: the rest of the batch is cancelled, not sent', async () => {
      const campaignId = await insertCampaign(db.pool, { name: `c${++n}-${engine}` });
      const phones: string[] = [];
      for (let i = 0; i < 2; i++) phones.push((await insertDueMessage(db, ctx.clock.now(), { campaignId, msAgo: 60_000 - i })).phone);
      const cancel = () => cancelCampaign(ctx, { campaignId, actor: 'dana', surface: 'console' });
      await new Dispatcher(ctx, doingOnce(phones[0]!, cancel), { bubbleGapMs: 0, concurrency: 1 }).runOnce();
      expect(await outboxFor(db, phones[1]!)).toHaveLength(0);
      const { rows } = await db.pool.query('SELECT status, cancelled_reason FROM campaign_messages WHERE campaign_id = $1 ORDER BY id', [campaignId]);
      expect(rows).toEqual([{ status: 'delivered', cancelled_reason: null }, { status: 'cancelled', cancelled_reason: 'campaign_cancelled' }]);
    });

    /** Another message of the campaign due just before message `id`; then one dispatcher run in which `provider(its phone)` sends the batch. */
    async function sendAfterAnother(campaignId: number, id: number, provider: (otherPhone: string) => SmsProvider, opts: Partial<DispatcherOptions>) {
      const other = await insertDueMessage(db, ctx.clock.now(), { campaignId });
      await db.pool.query('UPDATE campaign_messages SET scheduled_send_time = $2 WHERE id = $1', [id, new Date(ctx.clock.now().getTime() - 30_000)]);
      await new Dispatcher(ctx, provider(other.phone), opts).runOnce();
    }

    /** A provider whose calls time out, except to `phone` (an unknown outcome: reconciliation finds nothing went). */
    const timesOutExcept = (phone: string): SmsProvider => ({
      name: 'outbox',
      send: async (msg) => {
        if (msg.to !== phone) throw new SmsSendError('unknown', undefined, 'the provider did not answer in time');
        return new OutboxSmsProvider(db.pool, ctx.clock).send(msg);
      },
      listSent: async () => [],
    });

    it('claims put back before any provider call do not count toward the attempts after which a message goes to review', async () => {
      // Caps wide enough for every round in the same few minutes.
      const campaignId = await insertCampaign(db.pool, { name: `c${++n}-${engine}`, settings: { ratePerMinute: 100, ratePerHour: 1000, ratePerDay: 10_000 } });
      const m = await insertCustomer(db.pool, { timezone: 'America/Los_Angeles', state: 'CA' });
      const id = await insertMessage(db.pool, { campaignId, status: 'approved', phone: m.phone, customerId: m.id });
      const pause = () => pauseCampaign(ctx, { campaignId, actor: 'dana', surface: 'console' });
      const round = (provider: (otherPhone: string) => SmsProvider) => sendAfterAnother(campaignId, id, provider, { bubbleGapMs: 0, concurrency: 1, maxAttempts: 3 });
      // Twice a pause lands while the message before it is sent: its claim goes back, nothing went.
      for (let i = 0; i < 2; i++) {
        await round((phone) => doingOnce(phone, pause));
        expect(await statusOf(db, id)).toMatchObject({ status: 'approved', attempts: i + 1 });
        await resumeCampaign(ctx, { campaignId, actor: 'dana', surface: 'console' });
      }
      // The third claim reaches the provider, which times out: nothing went, as reconciliation confirms.
      await round(timesOutExcept);
      expect(await statusOf(db, id)).toMatchObject({ status: 'unknown', attempts: 3 });
      ctx.clock.advance(31_000);
      await new Dispatcher(ctx, timesOutExcept(''), { bubbleGapMs: 0, maxAttempts: 3 }).reconcileOnce();
      // One provider call of three: sent again, not sent to a person.
      expect(await statusOf(db, id)).toMatchObject({ status: 'approved', attempts: 3 });

      // Two more calls that time out: three provider calls, and a person decides.
      for (let i = 0; i < 2; i++) {
        await round(timesOutExcept);
        ctx.clock.advance(31_000);
        await new Dispatcher(ctx, timesOutExcept(''), { bubbleGapMs: 0, maxAttempts: 3 }).reconcileOnce();
      }
      expect(await statusOf(db, id)).toMatchObject({
        status: 'needs_review', attempts: 5, last_error: 'not found at the provider after 3 attempts: check and approve again to retry',
      });
      expect(await outboxFor(db, m.phone)).toEqual([]);
      ctx.clock.set(WEDNESDAY_10AM_LA);
    });

    it('an attempt that stopped before its provider call (its claim grew too old) does not count toward review either', async () => {
      const campaignId = await insertCampaign(db.pool, { name: `c${++n}-${engine}`, settings: { ratePerMinute: 100, ratePerHour: 1000, ratePerDay: 10_000 } });
      const m = await insertCustomer(db.pool, { timezone: 'America/Los_Angeles', state: 'CA' });
      const id = await insertMessage(db.pool, { campaignId, status: 'approved', phone: m.phone, customerId: m.id });
      const opts = { bubbleGapMs: 0, concurrency: 1, maxAttempts: 2 };
      const round = async (provider: (otherPhone: string) => SmsProvider) => {
        await sendAfterAnother(campaignId, id, provider, opts);
        ctx.clock.advance(31_000);
        await new Dispatcher(ctx, timesOutExcept(''), opts).reconcileOnce();
      };
      // The send before it takes three minutes (past half the five-minute lease): its claim is too old to call.
      const slowTo = (phone: string): SmsProvider => ({
        name: 'outbox',
        send: async (msg) => {
          const r = await new OutboxSmsProvider(db.pool, ctx.clock).send(msg);
          if (msg.to === phone) ctx.clock.advance(3 * 60_000);
          return r;
        },
        listSent: async () => [],
      });
      await round(slowTo);
      expect(await statusOf(db, id)).toMatchObject({ status: 'approved', attempts: 1, error_code: 'claim_expired' });
      expect((await auditFor(db.pool, 'message', id)).map((a) => a.action)).toEqual(['unknown_before_provider_call', 'reconciled_absent']);
      // One call that times out: one provider attempt of two, sent again.
      await round(timesOutExcept);
      expect(await statusOf(db, id)).toMatchObject({ status: 'approved', attempts: 2 });
      // A second: two provider attempts, and a person decides.
      await round(timesOutExcept);
      expect(await statusOf(db, id)).toMatchObject({ status: 'needs_review', attempts: 3, last_error: 'not found at the provider after 2 attempts: check and approve again to retry' });
      expect(await outboxFor(db, m.phone)).toEqual([]);
      ctx.clock.set(WEDNESDAY_10AM_LA);
    });
  });

  it('two unknown outcomes to one number with the same text, one of which went: both go to a person, nothing goes twice', async () => {
    const phone = (await insertCustomer(db.pool, { timezone: 'America/Los_Angeles', state: 'CA' })).phone;
    const body = 'Hi! We miss you. Reply STOP to opt out';
    const t0 = new Date(ctx.clock.now().getTime() - 120_000);
    const u = await insertAttemptedMessage(db, { campaignId: await insertCampaign(db.pool, { name: `c${++n}-${engine}` }), status: 'unknown', phone, body, attemptAt: t0 });
    const v = await insertAttemptedMessage(db, { campaignId: await insertCampaign(db.pool, { name: `c${++n}-${engine}` }), status: 'unknown', phone, body, attemptAt: new Date(t0.getTime() + 1000) });
    // Only V's send reached the provider.
    await new OutboxSmsProvider(db.pool, { now: () => new Date(t0.getTime() + 2000) }).send({ to: phone, body, messageId: v, bubble: 0 });
    const r = await fresh().reconcileOnce();
    // The SMS could be either's: both go to a person together, not one of them to "sent" (the
    // one left alone would own the SMS next, whichever sent it).
    expect(r).toMatchObject({ found: 0, review: 2, absent: 0 });
    for (const [id, other] of [[u, v], [v, u]] as const) {
      const after = await statusOf(db, id);
      expect(after.status).toBe('needs_review');
      expect(after.last_error).toMatch(new RegExp(`message ${other} to the same number with the same text was also unresolved`));
      expect((await auditFor(db.pool, 'message', id)).map((x) => x.action)).toEqual(['reconciled_ambiguous']);
    }
    await fresh().sendDue();
    await fresh().reconcileOnce();
    expect(await outboxFor(db, phone)).toHaveLength(1);
  });

  it('an unknown outcome confirmed absent in a campaign cancelled since is cancelled, not sent again', async () => {
    const campaignId = await insertCampaign(db.pool, { name: `c${++n}-${engine}`, status: 'cancelled' });
    const hourAgo = new Date(ctx.clock.now().getTime() - 3_600_000);
    const id = await insertAttemptedMessage(db, { campaignId, status: 'unknown', scheduledAt: hourAgo, attemptAt: hourAgo });
    const r = await fresh().reconcileOnce();
    expect(r).toMatchObject({ absent: 0, cancelled: 1 });
    expect(await statusOf(db, id)).toMatchObject({ status: 'cancelled', attempts: 1 });
    expect((await auditFor(db.pool, 'message', id)).map((a) => a.action)).toEqual(['cancelled_campaign']);
  });

  describe('a window that closes between the claim and the provider call', () => {
    // Business hours end at 10:01 in Los Angeles; the claim happens at 10:00, and the provider
    // call before it takes two minutes (the clock moves while it is "in flight").
    const settings = { businessHours: { start: 540, end: 601 } };
    const slowProvider = (calls: string[], takesMs = 120_000): SmsProvider => ({
      name: 'outbox',
      send: async (msg) => {
        calls.push(`${ctx.clock.now().toISOString()} ${msg.body}`);
        const sent = await new OutboxSmsProvider(db.pool, ctx.clock).send(msg);
        ctx.clock.advance(takesMs);
        return sent;
      },
      listSent: async () => [],
    });
    afterAll(() => ctx.clock.set(WEDNESDAY_10AM_LA));

    it('nothing goes after it: the rest of the batch waits for the next opening, on the record', async () => {
      ctx.clock.set(WEDNESDAY_10AM_LA);
      const first = await due({ settings });
      const second = await due({ settings });
      const calls: string[] = [];
      const stats = await new Dispatcher(ctx, slowProvider(calls), { bubbleGapMs: 0, concurrency: 1 }).runOnce();
      expect(stats).toMatchObject({ claimed: 2, sent: 1, rescheduled: 1 });
      expect(calls).toHaveLength(1);
      expect(await outboxFor(db, first.phone)).toHaveLength(1);
      expect(await outboxFor(db, second.phone)).toHaveLength(0);
      // Thursday 09:00 in Los Angeles: both the business window and the recipient's quiet hours are open.
      expect(await statusOf(db, second.id)).toMatchObject({ status: 'approved', attempts: 1, scheduled_send_time: new Date('2025-07-17T16:00:00.000Z') });
      expect((await auditFor(db.pool, 'message', second.id)).map((a) => a.action)).toEqual(['rescheduled_window_closed']);
      // Planning counts both: the attempt took a cap's room, and the new slot will take another.
      const since = new Date(Date.parse(WEDNESDAY_10AM_LA) - 60_000);
      expect(await timelineSince(db.pool, second.campaignId, since, false)).toEqual([Date.parse(WEDNESDAY_10AM_LA), Date.parse('2025-07-17T16:00:00.000Z')]);
      expect(await timelineSince(db.pool, second.campaignId, since, true)).toEqual([Date.parse(WEDNESDAY_10AM_LA)]);

      // Still closed: nothing is due. At the opening it goes, once.
      await fresh().runOnce();
      expect(await outboxFor(db, second.phone)).toHaveLength(0);
      ctx.clock.set('2025-07-17T16:00:00.000Z');
      await fresh().runOnce();
      expect(await outboxFor(db, second.phone)).toHaveLength(1);
      expect(await statusOf(db, second.id)).toMatchObject({ status: 'delivered', attempts: 2 });
    });

    it('a message whose last bubble would fall after the window closes waits whole for the next opening', async () => {
      // At the claim: not claimed at all (no attempt spent).
      ctx.clock.set(Date.parse(WEDNESDAY_10AM_LA) + 30_000);
      const m = await due({ settings, body: 'Hi Ana! [BUBBLE] We saved you a seat. Reply STOP to opt out' });
      const calls: string[] = [];
      const stats = await new Dispatcher(ctx, slowProvider(calls), { bubbleGapMs: 60_000 }).runOnce();
      expect(stats).toMatchObject({ claimed: 0, sent: 0, rescheduled: 1 });
      expect(calls).toEqual([]);
      expect(await statusOf(db, m.id)).toMatchObject({ status: 'approved', attempts: 0, scheduled_send_time: new Date('2025-07-17T16:00:00.000Z') });

      // At the provider call: claimed with room, but the batch's turn came too late for both bubbles.
      ctx.clock.set(WEDNESDAY_10AM_LA);
      const first = await due({ settings });
      const { id: second, phone } = await insertDueMessage(db, ctx.clock.now(), {
        campaignId: first.campaignId, body: 'Hi Ana! [BUBBLE] We saved you a seat. Reply STOP to opt out', msAgo: 30_000,
      });
      const late = await new Dispatcher(ctx, slowProvider(calls, 45_000), { bubbleGapMs: 30_000, concurrency: 1 }).runOnce();
      expect(late).toMatchObject({ claimed: 2, sent: 1, rescheduled: 1 });
      expect(await outboxFor(db, phone)).toEqual([]);
      expect(await statusOf(db, second)).toMatchObject({ status: 'approved', attempts: 1 });
      expect((await auditFor(db.pool, 'message', second)).map((a) => a.action)).toEqual(['rescheduled_window_closed']);
    });

    /** A real database error in re-plans of `campaignId` only (they move slots of messages already approved); returns its removal (idempotent). */
    async function refuseReplans(campaignId: number): Promise<() => Promise<void>> {
      await db.pool.query(`CREATE TABLE IF NOT EXISTS replan_refused (campaign_id bigint);
        CREATE OR REPLACE FUNCTION refuse_replan() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF OLD.status = 'approved' AND NEW.status = 'approved' AND EXISTS (SELECT 1 FROM replan_refused WHERE campaign_id = NEW.campaign_id)
          THEN RAISE EXCEPTION 'slots of campaign % are read-only', NEW.campaign_id; END IF;
          RETURN NEW;
        END $$;
        DROP TRIGGER IF EXISTS refuse_replan ON campaign_messages;
        CREATE TRIGGER refuse_replan BEFORE UPDATE ON campaign_messages FOR EACH ROW EXECUTE FUNCTION refuse_replan();`);
      await db.pool.query('INSERT INTO replan_refused VALUES ($1)', [campaignId]);
      return async () => {
        await db.pool.query('DROP TRIGGER IF EXISTS refuse_replan ON campaign_messages; DELETE FROM replan_refused');
      };
    }

    /** Two messages of one campaign, the second stopped by the window closing while the first is sent. */
    async function closingPair(batchId?: boolean) {
      ctx.clock.set(WEDNESDAY_10AM_LA);
      const first = await due({ settings });
      const batch = batchId ? await insertBatch(db.pool, first.campaignId) : undefined;
      const { id: second } = await insertDueMessage(db, ctx.clock.now(), { campaignId: first.campaignId, batchId: batch, msAgo: 30_000 });
      return { campaignId: first.campaignId, second, batchId: batch };
    }

    function recordingLog() {
      const lines: { level: string; msg: string }[] = [];
      const at = (level: string) => (msg: string) => void lines.push({ level, msg });
      return { lines, log: { ...silentLogger, info: at('info'), warn: at('warn'), error: at('error') } };
    }

    it('a failed send spends the error budget even when the record of a closed window after it fails', async () => {
      // Open until 10:01; the first send fails permanently and takes two minutes, so the
      // second finds the window closed. Putting the second back on the timeline then fails.
      ctx.clock.set(WEDNESDAY_10AM_LA);
      const first = await due({ settings: { ...settings, errorBudget: 1, errorBudgetWindow: 10 } });
      const { id: second } = await insertDueMessage(db, ctx.clock.now(), { campaignId: first.campaignId, msAgo: 30_000 });
      await db.pool.query(`CREATE OR REPLACE FUNCTION refuse_put_back() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF OLD.status = 'sending' AND NEW.status = 'approved' THEN RAISE EXCEPTION 'put-back refused for message %', NEW.id; END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER refuse_put_back BEFORE UPDATE ON campaign_messages FOR EACH ROW EXECUTE FUNCTION refuse_put_back();`);
      const refusing: SmsProvider = {
        name: 'outbox',
        send: async () => {
          ctx.clock.advance(120_000);
          throw new SmsSendError('permanent', '21211', "The 'To' number is not a valid phone number.");
        },
        listSent: async () => [],
      };
      try {
        await expect(new Dispatcher(ctx, refusing, { bubbleGapMs: 0, concurrency: 1 }).runOnce()).rejects.toThrow(/put-back refused/);
      } finally {
        await db.pool.query('DROP TRIGGER IF EXISTS refuse_put_back ON campaign_messages');
      }
      // The failure is on record and has paused the campaign: the budget ran before the put-back.
      expect(await statusOf(db, first.id)).toMatchObject({ status: 'failed', error_code: '21211' });
      expect(await campaignStatusOf(db, first.campaignId)).toMatchObject({ status: 'paused', paused_reason: expect.stringMatching(/error budget spent/) });
      // The put-back rolled back: the claim stays on record for its lease, then reconciliation.
      expect(await statusOf(db, second)).toMatchObject({ status: 'sending', attempts: 1 });
    });

    it('a re-plan that fails does not fail the round: the messages keep the opening, and it is tried again after the next batch', async () => {
      const { campaignId, second, batchId } = await closingPair(true);
      const allow = await refuseReplans(campaignId);
      const { lines, log } = recordingLog();
      const dispatcher = new Dispatcher({ ...ctx, log }, slowProvider([]), { bubbleGapMs: 0, concurrency: 1 });
      try {
        expect(await dispatcher.runOnce()).toMatchObject({ claimed: 2, sent: 1, rescheduled: 1 });
        expect(lines).toEqual([{ level: 'warn', msg: expect.stringMatching(/could not re-plan a campaign after a window closed/) }]);
        expect(await statusOf(db, second)).toMatchObject({ status: 'approved', scheduled_send_time: new Date('2025-07-17T16:00:00.000Z') });

        await allow();
        lines.length = 0;
        await dispatcher.runOnce();
        expect(lines).toEqual([{ level: 'info', msg: 're-planned a campaign after a window closed on its messages' }]);
        const { rows: progress } = await db.pool.query(`SELECT dedupe_key FROM chat_outbox WHERE kind = 'progress' AND batch_id = $1`, [batchId]);
        expect(progress.length).toBeGreaterThan(0);
        // Once done, it is not done again.
        lines.length = 0;
        await dispatcher.runOnce();
        expect(lines).toEqual([]);
      } finally {
        await allow();
      }
    });

    it('a re-plan that keeps failing is given up after five tries, loudly (the messages keep their safe slot)', async () => {
      const { campaignId, second } = await closingPair();
      const allow = await refuseReplans(campaignId);
      const { lines, log } = recordingLog();
      const dispatcher = new Dispatcher({ ...ctx, log }, slowProvider([]), { bubbleGapMs: 0, concurrency: 1 });
      try {
        for (let i = 0; i < 7; i++) await dispatcher.runOnce();
        expect(lines.map((l) => l.level)).toEqual(['warn', 'warn', 'warn', 'warn', 'error']);
        expect(lines[4]!.msg).toMatch(/gave up re-planning a campaign after 5 failures/);
        expect(await statusOf(db, second)).toMatchObject({ status: 'approved', scheduled_send_time: new Date('2025-07-17T16:00:00.000Z') });
      } finally {
        await allow();
      }
    });

    it('a message whose bubbles fit in no opening goes to review instead of moving from opening to opening', async () => {
      // Open 10:00 to 10:01 only; two bubbles a minute apart never fit.
      ctx.clock.set(WEDNESDAY_10AM_LA);
      const m = await due({ settings: { businessHours: { start: 600, end: 601 } }, body: 'Hi Ana! [BUBBLE] We saved you a seat. Reply STOP to opt out' });
      const calls: string[] = [];
      const stats = await new Dispatcher(ctx, slowProvider(calls), { bubbleGapMs: 60_000 }).runOnce();
      expect(stats).toMatchObject({ claimed: 0, review: 1 });
      expect(calls).toEqual([]);
      const after = await statusOf(db, m.id);
      expect(after).toMatchObject({ status: 'needs_review', attempts: 0 });
      expect(after.last_error).toMatch(/long enough for its 2 bubbles \(60 s apart, and a minute to spare\)/);
    });

    it('a message whose windows close and open again between its first and last bubble is not claimed', async () => {
      // Open 00:00-23:59 every day, no quiet hours; at 23:58:30 both ends of a 90 s span are
      // inside (23:58:30 and 00:00:00), but the window is shut from 23:59 to midnight.
      ctx.clock.set('2025-07-17T06:58:30.000Z');
      const wrap = { businessHours: { start: 0, end: 1439 }, businessDays: [1, 2, 3, 4, 5, 6, 7], recipientQuietHours: null };
      const m = await due({ settings: wrap, body: 'Hi Ana! [BUBBLE] We saved you a seat. Reply STOP to opt out' });
      const calls: string[] = [];
      const stats = await new Dispatcher(ctx, slowProvider(calls), { bubbleGapMs: 90_000 }).runOnce();
      expect(stats).toMatchObject({ claimed: 0, rescheduled: 1 });
      expect(calls).toEqual([]);
      // Thursday 00:00 in Los Angeles: the first opening with room for both bubbles and the margin.
      expect(await statusOf(db, m.id)).toMatchObject({ status: 'approved', attempts: 0, scheduled_send_time: new Date('2025-07-17T07:00:00.000Z') });
    });

    it.runIf(engine === 'postgres')('a re-plan leaves a message another transaction holds as it is instead of waiting for it', async () => {
      const campaignId = await insertCampaign(db.pool, { name: `c${++n}-${engine}` });
      const slot = new Date(Date.parse(WEDNESDAY_10AM_LA) + 3_600_000);
      const held = await insertMessage(db.pool, { campaignId, status: 'approved', scheduledAt: slot });
      const free = await insertMessage(db.pool, { campaignId, status: 'approved', scheduledAt: slot });
      const other = await db.pool.connect();
      try {
        // An opt-out (or a claim) in progress holds this one.
        await other.query('BEGIN');
        await other.query('SELECT id FROM campaign_messages WHERE id = $1 FOR UPDATE', [held]);
        ctx.clock.set(WEDNESDAY_10AM_LA);
        const planned = await db.tx((c) => replanCampaign(c, ctx, campaignId));
        expect(planned).toBe(1);
        await other.query('COMMIT');
        expect(await statusOf(db, held)).toMatchObject({ scheduled_send_time: slot });
        expect((await statusOf(db, free)).scheduled_send_time!.getTime()).toBeLessThan(slot.getTime());
      } finally {
        other.release();
      }
    }, 15_000);

    it.runIf(engine === 'postgres')('a window closing and a carrier opt-out in one batch never deadlock with an approval of a message to that phone', async () => {
      ctx.clock.set(WEDNESDAY_10AM_LA);
      // Sent first: its number opted out at the carrier, which cancels every pending message to it.
      const refused = await due({ settings, minutesAgo: 2 });
      // Then the window closes on this one's campaign ...
      const closing = await due({ settings });
      // ... which also holds a message to the refused number, awaiting approval.
      const pending = await insertMessage(db.pool, { campaignId: closing.campaignId, status: 'suggested', phone: refused.phone });
      // An approval in progress: it holds the pending message and will next lock the campaign.
      const approval = await db.pool.connect();
      const carrier: SmsProvider = {
        name: 'outbox',
        send: async () => {
          await approval.query('BEGIN');
          await approval.query('SELECT id FROM campaign_messages WHERE id = $1 FOR UPDATE', [pending]);
          ctx.clock.advance(120_000);
          throw new SmsSendError('opted_out', '21610', 'Attempt to send to unsubscribed recipient');
        },
        listSent: async () => [],
      };
      try {
        const round = new Dispatcher(ctx, carrier, { bubbleGapMs: 0, concurrency: 1 }).runOnce();
        // Once the record waits for the pending message, the approval asks for the campaign.
        await vi.waitFor(async () => {
          const { rowCount } = await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`);
          expect(rowCount).toBeGreaterThan(0);
        }, { timeout: 10_000, interval: 20 });
        await approval.query('SELECT id FROM campaigns WHERE id = $1 FOR UPDATE', [closing.campaignId]);
        await approval.query('COMMIT');
        expect(await round).toMatchObject({ claimed: 2, cancelled: 1, rescheduled: 1 });
        expect(await statusOf(db, refused.id)).toMatchObject({ status: 'cancelled' });
        expect(await statusOf(db, pending)).toMatchObject({ status: 'cancelled' });
        expect(await statusOf(db, closing.id)).toMatchObject({ status: 'approved' });
      } finally {
        approval.release();
      }
    });

    it('a campaign cancelled while its batch waited: what the window stopped is cancelled, not put back on a timeline', async () => {
      ctx.clock.set(WEDNESDAY_10AM_LA);
      const first = await due({ settings });
      const { id: second } = await insertDueMessage(db, ctx.clock.now(), { campaignId: first.campaignId, msAgo: 30_000 });
      const calls: string[] = [];
      const cancelling: SmsProvider = {
        ...slowProvider(calls),
        send: async (msg) => {
          const sent = await slowProvider(calls).send(msg);
          await cancelCampaign(ctx, { campaignId: first.campaignId, actor: 'manager', surface: 'console' });
          return sent;
        },
      };
      const stats = await new Dispatcher(ctx, cancelling, { bubbleGapMs: 0, concurrency: 1 }).runOnce();
      expect(stats).toMatchObject({ claimed: 2, sent: 1, cancelled: 1, rescheduled: 0 });
      expect(calls).toHaveLength(1);
      expect(await statusOf(db, second)).toMatchObject({ status: 'cancelled' });
      expect((await auditFor(db.pool, 'message', second)).map((a) => a.action)).toEqual(['cancelled_campaign']);
    });

    it('a message whose window closes between its bubbles stops there: sent, with what did not go noted', async () => {
      ctx.clock.set(WEDNESDAY_10AM_LA);
      const m = await due({ settings, body: 'Hi Ana! [BUBBLE] We saved you a seat. Reply STOP to opt out' });
      const calls: string[] = [];
      await new Dispatcher(ctx, slowProvider(calls), { bubbleGapMs: 0 }).runOnce();
      expect((await outboxFor(db, m.phone)).map((o) => o.body)).toEqual(['Hi Ana!']);
      const s = await statusOf(db, m.id);
      expect(s).toMatchObject({ status: 'delivered', error_code: 'window_closed' });
      expect(s.last_error).toMatch(/only 1 of 2 bubbles went out: a sending window closed/);
    });
  });
});
