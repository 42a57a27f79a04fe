/**
 * Delivery callbacks that arrive around the moment the dispatcher records a send: before the
 * record commits, a callback cannot find its message by provider id, so it keeps the event
 * for the record to apply. A callback landing while the record is in progress is applied by
 * one of the two (they take turns on the provider id), and failures reported early count
 * against the error budget as later ones do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import { COALESCE_MS } from '../../src/scheduler/posts.ts';
import type { OutboundSms, SentSms, SmsProvider } from '../../src/sms/provider.ts';
import { handleStatusCallback } from '../../src/sms/status.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertBatch, insertCampaign } from '../support/fixtures.ts';
import { campaignStatusOf, insertDueMessage, statusOf, testContext } from '../scheduler/support.ts';
import { waitForLockWaiters } from '../support/locks.ts';

/** A provider like Twilio: accepts (status 'queued'), delivery is reported later by callback. */
function queuedProvider(sid: string, beforeReturn?: () => Promise<void>): SmsProvider {
  return {
    name: 'twilio',
    async send(_msg: OutboundSms): Promise<SentSms> {
      await beforeReturn?.();
      return { providerMessageId: sid, acceptedAt: new Date(), status: 'queued' };
    },
    listSent: async () => [],
  };
}

/** A new campaign with one batch and one message in it, due a minute ago. */
async function dueMessage(db: Database, ctx: ReturnType<typeof testContext>, name: string) {
  const campaignId = await insertCampaign(db.pool, { name });
  const batchId = await insertBatch(db.pool, campaignId);
  const { id } = await insertDueMessage(db, ctx.clock.now(), { campaignId, batchId });
  return { campaignId, batchId, id };
}

describe.each(engines)('early delivery callbacks on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db);
  });
  afterAll(() => db?.close());

  it('a "failed" callback that arrives while the message is still sending is applied when the send is recorded', async () => {
    const sid = `SMearly${engine}1`;
    const m = await dueMessage(db, ctx, `cb-early-${engine}-1`);
    let early: unknown;
    const provider = queuedProvider(sid, async () => {
      early = await handleStatusCallback(ctx, { providerMessageId: sid, status: 'failed', errorCode: '30003' });
    });
    await new Dispatcher(ctx, provider, { bubbleGapMs: 0 }).runOnce();
    // Kept, not applied: the message was not recorded sent yet when it came.
    expect(early).toEqual({ duplicate: false, changed: false });
    expect(await statusOf(db, m.id)).toMatchObject({ status: 'failed', error_code: '30003', provider_message_id: sid });
  });

  it('carrier failures reported before the record count against the error budget, as later ones do', async () => {
    const campaignId = await insertCampaign(db.pool, { name: `cb-budget-${engine}`, settings: { errorBudget: 2, errorBudgetWindow: 20 } });
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push((await insertDueMessage(db, ctx.clock.now(), { campaignId })).id);
    let k = 0;
    // A carrier that refuses every number at once (a blocked sender): 'undelivered' arrives within the send.
    const provider: SmsProvider = {
      name: 'twilio',
      async send(): Promise<SentSms> {
        const sid = `SMbudget${engine}${++k}`;
        await handleStatusCallback(ctx, { providerMessageId: sid, status: 'undelivered', errorCode: '30007' });
        return { providerMessageId: sid, acceptedAt: new Date(), status: 'queued' };
      },
      listSent: async () => [],
    };
    await new Dispatcher(ctx, provider, { bubbleGapMs: 0, concurrency: 1 }).runOnce();
    for (const id of ids) expect((await statusOf(db, id)).status).toBe('undelivered');
    // 3 failures of the last 3 sends, budget 2: the campaign must be paused.
    expect((await campaignStatusOf(db, campaignId)).status).toBe('paused');
  });

  it('(control) the same failures reported after the record pause the campaign', async () => {
    const campaignId = await insertCampaign(db.pool, { name: `cb-budget-late-${engine}`, settings: { errorBudget: 2, errorBudgetWindow: 20 } });
    const sids: string[] = [];
    for (let i = 0; i < 3; i++) await insertDueMessage(db, ctx.clock.now(), { campaignId });
    let k = 0;
    const provider: SmsProvider = {
      name: 'twilio',
      async send(): Promise<SentSms> {
        const sid = `SMbudgetlate${engine}${++k}`;
        sids.push(sid);
        return { providerMessageId: sid, acceptedAt: new Date(), status: 'queued' };
      },
      listSent: async () => [],
    };
    await new Dispatcher(ctx, provider, { bubbleGapMs: 0, concurrency: 1 }).runOnce();
    for (const sid of sids) await handleStatusCallback(ctx, { providerMessageId: sid, status: 'undelivered', errorCode: '30007' });
    expect((await campaignStatusOf(db, campaignId)).status).toBe('paused');
  });

  it('a callback for a sid nobody knows is stored and changes nothing', async () => {
    const r = await handleStatusCallback(ctx, { providerMessageId: `SMnobody${engine}`, status: 'delivered' });
    expect(r).toEqual({ duplicate: false, changed: false });
    const again = await handleStatusCallback(ctx, { providerMessageId: `SMnobody${engine}`, status: 'delivered' });
    expect(again).toEqual({ duplicate: true, changed: false });
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('a callback racing the record on postgres', () => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  beforeAll(async () => {
    db = await openTestDatabase('postgres');
    ctx = testContext(db);
  });
  afterAll(() => db?.close());

  it('a "failed" callback that lands while the send is being recorded is not lost', async () => {
    const sid = 'SMrace1';
    const m = await dueMessage(db, ctx, 'cb-early-race');
    // Slow the record's transaction down after it has read delivery_events (its progress row
    // waits for this uncommitted one with the same key), as a busy database would.
    const bucket = Math.floor(ctx.clock.now().getTime() / COALESCE_MS);
    const slow = await db.pool.connect();
    await slow.query('BEGIN');
    await slow.query(
      `INSERT INTO chat_outbox (surface, kind, dedupe_key, batch_id, payload) VALUES ('console', 'progress', $1, $2, '{}')`,
      [`progress:${m.batchId}:${bucket}`, m.batchId],
    );
    const round = new Dispatcher(ctx, queuedProvider(sid), { bubbleGapMs: 0 }).runOnce();
    await waitForLockWaiters(db.pool, 1);
    // Twilio's callback for the message arrives now (fast carriers answer within milliseconds):
    // it waits for the record to finish, or (were they not to take turns) is done at once.
    const callback = handleStatusCallback(ctx, { providerMessageId: sid, status: 'failed', errorCode: '30003' });
    await Promise.race([callback, waitForLockWaiters(db.pool, 2, 3_000).catch(() => undefined)]);
    await slow.query('ROLLBACK');
    slow.release();
    expect(await callback).toMatchObject({ duplicate: false });
    const stats = await round;
    expect(stats.sent).toBe(1);

    const { rows } = await db.pool.query('SELECT status FROM delivery_events WHERE provider_message_id = $1', [sid]);
    expect(rows).toEqual([{ status: 'failed' }]);
    // Nothing picks it up later either: a reconciliation round leaves 'sent' messages alone.
    await new Dispatcher(ctx, queuedProvider('SMunused'), { bubbleGapMs: 0 }).reconcileOnce();
    // The carrier said failed; the message must not stay 'sent' for ever.
    expect(await statusOf(db, m.id)).toMatchObject({ status: 'failed', error_code: '30003' });
  });
});
