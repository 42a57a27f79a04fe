/**
 * Pause, resume and cancel against the real dispatcher and the local outbox provider:
 * a pause keeps the planned slots and stops claims, a resume re-plans what is left from
 * now in the same order, a cancel takes every unsent message off the timeline for good.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { auditFor } from '../../src/db/queries/audit.ts';
import type { MessageStatus } from '../../src/domain/messageStatus.ts';
import { cancelCampaign, pauseCampaign, resumeCampaign } from '../../src/scheduler/controls.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import { OutboxSmsProvider } from '../../src/sms/outbox.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertPlannedCampaign, slotsOf, statusOf, testContext, WEDNESDAY_10AM_LA } from './support.ts';

const MINUTE = 60_000;

describe.each(engines)('campaign pause, resume and cancel on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  let n = 0;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db);
  });
  afterAll(() => db?.close());

  const dispatcher = () => new Dispatcher(ctx, new OutboxSmsProvider(db.pool, ctx.clock), { bubbleGapMs: 0 });

  /** A campaign with `count` approved messages and one in each `extra` status, planned on Wednesday at 10:00 in Los Angeles. */
  function plannedCampaign(count: number, extra: MessageStatus[] = []) {
    ctx.clock.set(WEDNESDAY_10AM_LA);
    return insertPlannedCampaign(db, ctx, { name: `controls-${++n}-${engine}`, count, extra });
  }

  async function sentTo(phones: string[]): Promise<number> {
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM sms_outbox WHERE to_phone = ANY($1::text[])', [phones]);
    return rows[0]!.n;
  }

  async function outboxKeys(batchId: number): Promise<string[]> {
    const { rows } = await db.pool.query<{ dedupe_key: string }>('SELECT dedupe_key FROM chat_outbox WHERE batch_id = $1 ORDER BY id', [batchId]);
    return rows.map((r) => r.dedupe_key);
  }

  it('pause keeps every planned slot and the dispatcher claims nothing, even once the slots are due', async () => {
    const c = await plannedCampaign(4);
    const before = await slotsOf(db, c.ids);
    expect([...before.values()].every(Number.isFinite)).toBe(true);

    const r = await pauseCampaign(ctx, { campaignId: c.campaignId, actor: 'dana', surface: 'cli' });
    expect(r).toEqual({ ok: true, message: expect.stringContaining('Paused') });
    expect(await slotsOf(db, c.ids)).toEqual(before);

    ctx.clock.set(Math.max(...before.values()) + MINUTE); // every slot is due, none too late
    const stats = await dispatcher().runOnce();
    expect(stats.claimed).toBe(0);
    for (const id of c.ids) expect(await statusOf(db, id)).toMatchObject({ status: 'approved', attempts: 0 });
    expect(await sentTo(c.phones)).toBe(0);

    const audit = await auditFor(db.pool, 'campaign', c.campaignId);
    expect(audit.filter((a) => a.action === 'campaign_paused')).toEqual([
      expect.objectContaining({ actor: 'dana', surface: 'cli', before: { status: 'active' }, after: { status: 'paused', reason: 'paused by dana' } }),
    ]);
    const keys = await outboxKeys(c.batchId);
    expect(keys.filter((k) => k.startsWith(`control:pause:${c.campaignId}:`))).toHaveLength(1);
    expect(keys.filter((k) => k.startsWith(`progress:${c.batchId}:`))).toHaveLength(1);

    const again = await pauseCampaign(ctx, { campaignId: c.campaignId, actor: 'dana', surface: 'cli' });
    expect(again.ok).toBe(false);
    expect(again.message).toMatch(/is paused; only an active campaign can be paused/);
  });

  it('resume re-plans what is left from now, in the same order, and sending picks up from there', async () => {
    const c = await plannedCampaign(5);
    // The first message goes out before the pause.
    const first = Math.min(...(await slotsOf(db, c.ids)).values());
    ctx.clock.set(first);
    expect((await dispatcher().runOnce()).sent).toBe(1);
    const left = c.ids.filter((id) => id !== c.ids[0]);
    const before = await slotsOf(db, left);
    const orderBefore = [...left].sort((a, b) => before.get(a)! - before.get(b)! || a - b);

    await pauseCampaign(ctx, { campaignId: c.campaignId, actor: 'dana', surface: 'cli' });
    ctx.clock.advance(90 * MINUTE); // 11:30 in Los Angeles: every old slot lies in the past
    const now = ctx.clock.now().getTime();
    expect(Math.max(...before.values())).toBeLessThan(now);

    const r = await resumeCampaign(ctx, { campaignId: c.campaignId, actor: 'dana', surface: 'cli' });
    expect(r.ok).toBe(true);
    expect(r.message).toContain('4 messages re-planned from now');
    const after = await slotsOf(db, left);
    for (const at of after.values()) expect(at).toBeGreaterThanOrEqual(now);
    const orderAfter = [...left].sort((a, b) => after.get(a)! - after.get(b)! || a - b);
    expect(orderAfter).toEqual(orderBefore);
    // The last send was long ago, so the next one is due right away.
    expect(after.get(orderAfter[0]!)).toBe(now);
    expect((await auditFor(db.pool, 'campaign', c.campaignId)).map((a) => a.action)).toContain('campaign_active');

    const stats = await dispatcher().runOnce();
    expect(stats).toMatchObject({ claimed: 1, sent: 1, review: 0 });
    expect(await statusOf(db, orderAfter[0]!)).toMatchObject({ status: 'delivered' });
    for (const id of orderAfter.slice(1)) expect(await statusOf(db, id)).toMatchObject({ status: 'approved' });

    const again = await resumeCampaign(ctx, { campaignId: c.campaignId, actor: 'dana', surface: 'cli' });
    expect(again).toMatchObject({ ok: false, message: expect.stringMatching(/is active; only a paused campaign can be resumed/) });
  });

  it('pause and resume in the same 30 s bucket leave one coalesced progress row, due at the end of the bucket', async () => {
    const c = await plannedCampaign(2);
    ctx.clock.set('2025-07-16T17:00:05.000Z');
    await pauseCampaign(ctx, { campaignId: c.campaignId, actor: 'dana', surface: 'cli' });
    ctx.clock.set('2025-07-16T17:00:20.000Z');
    await resumeCampaign(ctx, { campaignId: c.campaignId, actor: 'dana', surface: 'cli' });
    const bucket = Math.floor(Date.parse('2025-07-16T17:00:05.000Z') / 30_000);
    const { rows } = await db.pool.query<{ dedupe_key: string; kind: string; payload: unknown; next_attempt_at: Date }>(
      `SELECT dedupe_key, kind, payload, next_attempt_at FROM chat_outbox WHERE batch_id = $1 AND kind = 'progress' ORDER BY id`,
      [c.batchId],
    );
    expect(rows).toEqual([
      { dedupe_key: `progress:${c.batchId}:${bucket}`, kind: 'progress', payload: { batchId: c.batchId }, next_attempt_at: new Date((bucket + 1) * 30_000) },
    ]);
    ctx.clock.set('2025-07-16T17:00:31.000Z'); // the next bucket gets its own row
    await pauseCampaign(ctx, { campaignId: c.campaignId, actor: 'dana', surface: 'cli' });
    expect((await outboxKeys(c.batchId)).filter((k) => k.startsWith('progress:'))).toEqual([
      `progress:${c.batchId}:${bucket}`,
      `progress:${c.batchId}:${bucket + 1}`,
    ]);
  });

  it('cancel cancels suggested, approved and needs_review messages, audits each, re-renders their cards, and nothing goes out after', async () => {
    const c = await plannedCampaign(3, ['suggested', 'needs_review', 'delivered', 'rejected']);
    const [a1, a2, a3, suggested, review, delivered, rejected] = c.ids as [number, number, number, number, number, number, number];
    const pending = [a1, a2, a3, suggested, review];

    const r = await cancelCampaign(ctx, { campaignId: c.campaignId, actor: 'dana', surface: 'slack' });
    expect(r).toMatchObject({ ok: true, cancelled: 5 });
    expect(r.message).toContain('5 unsent messages cancelled');
    for (const id of pending) expect((await statusOf(db, id)).status).toBe('cancelled');
    expect((await statusOf(db, delivered)).status).toBe('delivered');
    expect((await statusOf(db, rejected)).status).toBe('rejected');
    const { rows: reasons } = await db.pool.query<{ cancelled_reason: string }>(
      'SELECT DISTINCT cancelled_reason FROM campaign_messages WHERE id = ANY($1::bigint[])',
      [pending],
    );
    expect(reasons).toEqual([{ cancelled_reason: 'campaign_cancelled' }]);

    for (const id of pending) {
      const audit = await auditFor(db.pool, 'message', id);
      expect(audit.at(-1)).toMatchObject({ actor: 'dana', surface: 'slack', action: 'cancelled_campaign', after: { status: 'cancelled' } });
    }
    expect((await auditFor(db.pool, 'campaign', c.campaignId)).map((a) => a.action)).toContain('campaign_cancelled');

    const { rows: versions } = await db.pool.query<{ id: number; version: number }>(
      'SELECT id, version FROM campaign_messages WHERE id = ANY($1::bigint[])',
      [pending],
    );
    const keys = await outboxKeys(c.batchId);
    for (const v of versions) expect(keys).toContain(`card:${v.id}:v${v.version}`);
    expect(keys.filter((k) => k.startsWith('card:'))).toHaveLength(5);
    expect(keys).toContain(`control:cancel:${c.campaignId}`);

    ctx.clock.advance(60 * MINUTE);
    const stats = await dispatcher().runOnce();
    expect(stats.claimed).toBe(0);
    expect(await sentTo(c.phones)).toBe(0);

    const again = await cancelCampaign(ctx, { campaignId: c.campaignId, actor: 'dana', surface: 'slack' });
    expect(again).toEqual({ ok: false, message: expect.stringContaining('is already cancelled'), cancelled: 0 });
    const resumed = await resumeCampaign(ctx, { campaignId: c.campaignId, actor: 'dana', surface: 'slack' });
    expect(resumed.ok).toBe(false);
  });

  it('an unknown campaign id is a clear refusal for every control', async () => {
    const a = { campaignId: 987654, actor: 'dana', surface: 'cli' as const };
    expect(await pauseCampaign(ctx, a)).toEqual({ ok: false, message: 'No campaign with id 987654.' });
    expect(await resumeCampaign(ctx, a)).toEqual({ ok: false, message: 'No campaign with id 987654.' });
    expect(await cancelCampaign(ctx, a)).toEqual({ ok: false, message: 'No campaign with id 987654.', cancelled: 0 });
  });
});
