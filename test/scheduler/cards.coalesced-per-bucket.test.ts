/**
 * Card re-renders the scheduler causes (sent, delivered, failed ...) are coalesced: one card
 * row per message and one batch header row per batch per 30 s bucket, due at the end of the
 * bucket; a change after an early delivery arms the row again. Human actions stay immediate
 * (test/bot/approvals.core.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import { OutboxSmsProvider } from '../../src/sms/outbox.ts';
import { handleStatusCallback } from '../../src/sms/status.ts';
import type { SmsProvider } from '../../src/sms/provider.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertBatch, insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { testContext } from './support.ts';

describe.each(engines)('coalesced card re-renders on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db);
  });
  afterAll(() => db?.close());

  const bucket = () => Math.floor(ctx.clock.now().getTime() / 30_000);
  const rowsOf = async (batchId: number) =>
    (await db.pool.query(`SELECT kind, dedupe_key, status, next_attempt_at FROM chat_outbox WHERE batch_id = $1 AND kind IN ('card', 'batch_header') ORDER BY kind = 'batch_header', (payload->>'messageId')::bigint`, [batchId])).rows;

  async function batchOf(name: string, n: number): Promise<{ batchId: number; ids: number[] }> {
    const campaignId = await insertCampaign(db.pool, { name: `${name}-${engine}`, chatSurface: 'slack', chatChannel: 'C1' });
    const batchId = await insertBatch(db.pool, campaignId);
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      const c = await insertCustomer(db.pool, { timezone: 'America/Los_Angeles', state: 'CA' });
      ids.push(await insertMessage(db.pool, { campaignId, batchId, status: 'approved', phone: c.phone, customerId: c.id, scheduledAt: new Date(ctx.clock.now().getTime() - 1000) }));
    }
    return { batchId, ids };
  }

  it('sending and delivering a batch writes one card row per message and one header row, due at the end of the bucket', async () => {
    const b = await batchOf('coalesce', 5);
    // The local outbox reports delivery with the send: sent then delivered, two changes per message.
    const stats = await new Dispatcher(ctx, new OutboxSmsProvider(db.pool, ctx.clock), { bubbleGapMs: 0 }).runOnce();
    expect(stats.sent).toBe(5);
    const end = new Date((bucket() + 1) * 30_000);
    expect(await rowsOf(b.batchId)).toEqual([
      ...b.ids.map((id) => ({ kind: 'card', dedupe_key: `card:${id}:b${bucket()}`, status: 'pending', next_attempt_at: end })),
      { kind: 'batch_header', dedupe_key: `batch_header:${b.batchId}:slack:b${bucket()}`, status: 'pending', next_attempt_at: end },
    ]);
  });

  it('a status callback in the same bucket adds nothing; one after an early delivery arms the row again', async () => {
    const b = await batchOf('rearm', 2);
    // Like Twilio: accepted as 'queued', delivery reported later by a status callback.
    const outbox = new OutboxSmsProvider(db.pool, ctx.clock);
    const queued: SmsProvider = {
      name: 'twilio',
      send: async (m) => ({ ...(await outbox.send(m)), status: 'queued' }),
      listSent: async () => [],
    };
    await new Dispatcher(ctx, queued, { bubbleGapMs: 0 }).runOnce();
    const before = await rowsOf(b.batchId);
    expect(before).toHaveLength(3);
    const pid = async (id: number) => (await db.pool.query('SELECT provider_message_id FROM campaign_messages WHERE id = $1', [id])).rows[0].provider_message_id;

    await handleStatusCallback(ctx, { providerMessageId: await pid(b.ids[0]!), status: 'delivered' });
    expect(await rowsOf(b.batchId)).toEqual(before);

    // The worker delivered the bucket's rows early (clocks disagree): a later change must still be shown.
    await db.pool.query(`UPDATE chat_outbox SET status = 'done', done_at = now() WHERE batch_id = $1`, [b.batchId]);
    await handleStatusCallback(ctx, { providerMessageId: await pid(b.ids[1]!), status: 'delivered' });
    const after = await rowsOf(b.batchId);
    expect(after.map((r) => [r.dedupe_key, r.status])).toEqual([
      [`card:${b.ids[0]}:b${bucket()}`, 'done'],
      [`card:${b.ids[1]}:b${bucket()}`, 'pending'],
      [`batch_header:${b.batchId}:slack:b${bucket()}`, 'pending'],
    ]);
  });
});
