/**
 * The batch's progress message on seeded data with known answers: sent, delivered,
 * failed, replies, opt-outs, next send and ETA, and the state line for a sending, paused,
 * cancelled and finished campaign.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import type { MessageStatus } from '../../src/domain/messageStatus.ts';
import { changeCampaignSettings } from '../../src/scheduler/controls.ts';
import { formatWhen, renderProgress } from '../../src/scheduler/progress.ts';
import { handleInboundSms } from '../../src/sms/inbound.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertBatch, insertCampaign, insertMessage } from '../support/fixtures.ts';
import { testContext } from './support.ts';

const LA = 'America/Los_Angeles';
const NEXT = new Date('2025-07-16T17:20:00Z');
const LAST = new Date('2025-07-16T18:05:00Z');

describe.each(engines)('progress message on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  let n = 0;
  let inbound = 0;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db);
  });
  afterAll(() => db?.close());

  const progressRows = async (batchId: number) =>
    (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM chat_outbox WHERE kind = 'progress' AND batch_id = $1`, [batchId])).rows[0]!.n;

  async function batch(statuses: MessageStatus[], campaign: { status?: string } = {}) {
    const campaignId = await insertCampaign(db.pool, { name: `progress-${++n}-${engine}`, status: campaign.status });
    const batchId = await insertBatch(db.pool, campaignId);
    const ids: number[] = [];
    for (const status of statuses) ids.push(await insertMessage(db.pool, { campaignId, batchId, status }));
    return { campaignId, batchId, ids };
  }

  async function reply(messageId: number, kind: 'reply' | 'stop' | 'help' = 'reply') {
    await db.pool.query(
      `INSERT INTO inbound_messages (provider_message_id, from_phone, body, kind, message_id)
       SELECT $1, phone, $2, $3, id FROM campaign_messages WHERE id = $4`,
      [`SMprog${engine}${++inbound}`, kind === 'stop' ? 'STOP' : 'Thanks!', kind, messageId],
    );
  }

  it('counts every kind of outcome of the batch, and only of this batch', async () => {
    const b = await batch(['delivered', 'delivered', 'sent', 'undelivered', 'failed', 'approved', 'approved', 'sending', 'cancelled', 'rejected', 'suggested']);
    const [d1, d2, sent, , , a1, a2] = b.ids as number[];
    await db.pool.query('UPDATE campaign_messages SET scheduled_send_time = $2 WHERE id = $1', [a1, NEXT]);
    await db.pool.query('UPDATE campaign_messages SET scheduled_send_time = $2 WHERE id = $1', [a2, LAST]);
    await reply(d1!);
    await reply(d1!);
    await reply(sent!, 'help'); // neither a reply nor an opt-out
    await reply(d2!, 'stop');
    // Another batch of the same campaign: its reply is not this batch's.
    await reply(await insertMessage(db.pool, { campaignId: b.campaignId, batchId: await insertBatch(db.pool, b.campaignId), status: 'delivered' }));

    const m = await renderProgress(db.pool, ctx, b.batchId);
    expect(m).toEqual({
      title: `Progress: progress-${n}-${engine}`,
      // 11 messages: 1 cancelled and 1 rejected will never go; 4 sent, 3 to go (2 approved, 1 sending), 1 suggestion not approved.
      text: 'Sending. 4 of 9 sent, 3 to go, 1 to approve.',
      fields: [
        { label: 'Sent', value: '4' },
        { label: 'Delivered', value: '2' },
        { label: 'Failed', value: '2' },
        { label: 'Replies', value: '2' },
        { label: 'Opt-outs', value: '1' },
        { label: 'Next send', value: formatWhen(NEXT, LA) },
        { label: 'ETA', value: formatWhen(LAST, LA) },
      ],
      tone: 'info',
    });
    expect(formatWhen(NEXT, LA)).toBe('Wed 07/16 10:20 AM');
  });

  it('a paused campaign shows why, and no next send or ETA', async () => {
    const b = await batch(['delivered', 'approved'], { status: 'paused' });
    await db.pool.query(`UPDATE campaigns SET paused_reason = 'error budget: 5 failures in the last 20 sends' WHERE id = $1`, [b.campaignId]);
    await db.pool.query('UPDATE campaign_messages SET scheduled_send_time = $2 WHERE id = $1', [b.ids[1], NEXT]);
    const m = await renderProgress(db.pool, ctx, b.batchId);
    expect(m.text).toBe('Paused: error budget: 5 failures in the last 20 sends. 1 of 2 sent, 1 to go.');
    expect(m.tone).toBe('warning');
    expect(m.fields!.slice(-2)).toEqual([{ label: 'Next send', value: '—' }, { label: 'ETA', value: '—' }]);
  });

  it('a cancelled campaign and a finished batch say so', async () => {
    const cancelled = await batch(['delivered', 'cancelled', 'cancelled'], { status: 'cancelled' });
    expect(await renderProgress(db.pool, ctx, cancelled.batchId)).toMatchObject({ text: 'Cancelled. 1 of 1 sent.' });
    const done = await batch(['delivered', 'sent', 'rejected']);
    const m = await renderProgress(db.pool, ctx, done.batchId);
    expect(m).toMatchObject({ text: 'Done. 2 of 2 sent.', tone: 'success' });
    expect(m.fields!.slice(-2)).toEqual([{ label: 'Next send', value: '—' }, { label: 'ETA', value: '—' }]);
  });

  it('a batch with nothing left to send but messages waiting for a person says so, not "Done"', async () => {
    const review = await batch(['delivered', 'needs_review', 'needs_review', 'suggested']);
    expect(await renderProgress(db.pool, ctx, review.batchId)).toMatchObject({
      text: 'Waiting for review. 1 of 4 sent, 1 to approve, 2 in review (see their cards).', tone: 'warning',
    });
    const approval = await batch(['delivered', 'suggested']);
    expect(await renderProgress(db.pool, ctx, approval.batchId)).toMatchObject({ text: 'Waiting for approval. 1 of 2 sent, 1 to approve.', tone: 'info' });
  });

  it('a batch whose messages were all rejected or cancelled has nothing to send, and does not say "Done"', async () => {
    const b = await batch(['rejected', 'rejected', 'cancelled']);
    expect(await renderProgress(db.pool, ctx, b.batchId)).toMatchObject({ text: 'Nothing to send: every message of this batch was rejected or cancelled.', tone: 'info' });
  });

  it("a STOP refreshes the progress of every batch whose messages it cancels, and the planner's unschedulable messages theirs", async () => {
    const a = await batch(['delivered', 'approved']);
    const b = await batch(['needs_review']);
    const phone = '+14155550177';
    await db.pool.query('UPDATE campaign_messages SET phone = $1 WHERE id = ANY($2::bigint[])', [phone, [a.ids[1], b.ids[0]]]);
    await handleInboundSms(ctx, { providerMessageId: `SMprogstop${engine}`, from: phone, body: 'STOP' });
    for (const x of [a, b]) expect(await progressRows(x.batchId), `batch ${x.batchId}`).toBe(1);
    expect((await renderProgress(db.pool, ctx, b.batchId)).text).toBe('Nothing to send: every message of this batch was rejected or cancelled.');

    // Business hours that never meet the recipient's quiet hours (08:00-21:00): the planner sends the approved message to review.
    const c = await batch(['approved']);
    const r = await changeCampaignSettings(ctx, { campaignId: c.campaignId, assignments: 'hours=06:00-07:00', actor: 'dana', surface: 'console' });
    expect(r.ok, r.message).toBe(true);
    expect(await progressRows(c.batchId)).toBe(1);
  });

  it('a batch that no longer exists renders a warning instead of failing', async () => {
    expect(await renderProgress(db.pool, ctx, 987654)).toEqual({ text: 'Batch 987654 no longer exists.', tone: 'warning' });
  });
});
