/**
 * An approval plans a message with bubbles where its last bubble (SEND_BUBBLE_GAP_SECONDS
 * apart), and a minute to spare, still fall inside both windows, so a claim that comes late
 * still sends it whole; one whose bubbles fit no opening goes to review at once, with the
 * reason, instead of leaving it to the dispatcher to find out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/bot/actor.ts';
import { approveMessage } from '../../src/bot/approvals.ts';
import type { Database } from '../../src/db/database.ts';
import { auditFor } from '../../src/db/queries/audit.ts';
import { OutboxSmsProvider } from '../../src/sms/outbox.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import { previewCampaign } from '../../src/scheduler/preview.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { outboxFor, statusOf, testContext } from './support.ts';

const dana: Actor = { id: 'U1', name: 'dana', surface: 'console', isApprover: true };
/** Wednesday 19:58:56 in Los Angeles: 64 seconds before the default business hours (09:00-20:00) close. */
const BEFORE_CLOSE = '2025-07-17T02:58:56.000Z';
const THURSDAY_9AM_LA = new Date('2025-07-17T16:00:00.000Z');

describe.each(engines)('planning bubbles on %s', (engine) => {
  let db: Database;
  let n = 0;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
  });
  afterAll(() => db?.close());

  async function suggested(bubbles: number, settings?: Record<string, unknown>) {
    const campaignId = await insertCampaign(db.pool, { name: `bubbles${++n}-${engine}`, settings });
    const customer = await insertCustomer(db.pool, { timezone: 'America/Los_Angeles', state: 'CA' });
    const parts = Array.from({ length: bubbles }, (_, i) => (i === bubbles - 1 ? 'Reply STOP to opt out' : `Part ${i + 1}.`));
    const id = await insertMessage(db.pool, { campaignId, status: 'suggested', phone: customer.phone, customerId: customer.id, body: parts.join(' [BUBBLE] ') });
    return { campaignId, id, phone: customer.phone };
  }

  it('keeps a message whose bubbles and margin would run past closing time for the next opening, and sends a shorter one whole even when claimed late', async () => {
    const ctx = testContext(db, {}, BEFORE_CLOSE); // bubbles 3 s apart (the default)
    const two = await suggested(2); // 3 s of bubbles and a minute to spare: 63 s, fits
    const three = await suggested(3); // 6 s and a minute: 66 s, does not
    expect(await approveMessage(ctx, dana, two.id, 1)).toMatchObject({ ok: true });
    expect(await approveMessage(ctx, dana, three.id, 1)).toMatchObject({ ok: true });
    expect(await statusOf(db, two.id)).toMatchObject({ status: 'approved', scheduled_send_time: new Date(BEFORE_CLOSE) });
    expect(await statusOf(db, three.id)).toMatchObject({ status: 'approved', scheduled_send_time: THURSDAY_9AM_LA });

    // The preview agrees with the plan it did not make.
    const preview = await previewCampaign(ctx, three.campaignId);
    expect(preview.rows.map((r) => r.at)).toEqual([THURSDAY_9AM_LA]);

    // Claimed 55 s late (19:59:51), with the configured gap: the claim finds room for both
    // bubbles (the last at 19:59:54), sends them, and leaves the other waiting.
    ctx.clock.advance(55_000);
    const dispatcher = new Dispatcher(ctx, new OutboxSmsProvider(db.pool, ctx.clock));
    expect(dispatcher.opts.bubbleGapMs).toBe(3_000);
    const stats = await dispatcher.runOnce();
    expect(stats).toMatchObject({ sent: 1, rescheduled: 0, review: 0 });
    expect((await outboxFor(db, two.phone)).map((o) => o.body)).toEqual(['Part 1.', 'Reply STOP to opt out']);
    expect(await outboxFor(db, three.phone)).toHaveLength(0);
  });

  it('sends a message whose bubbles fit no opening to review at approval, saying so', async () => {
    // Open 09:00-09:01 only, bubbles a minute apart: three bubbles never fit, one SMS does.
    const ctx = testContext(db, { SEND_BUBBLE_GAP_SECONDS: '60' }, BEFORE_CLOSE);
    const narrow = { businessHours: { start: 540, end: 541 } };
    const long = await suggested(3, narrow);
    const single = await suggested(1, narrow);
    expect(await approveMessage(ctx, dana, long.id, 1)).toMatchObject({ ok: true });
    expect(await approveMessage(ctx, dana, single.id, 1)).toMatchObject({ ok: true });
    const after = await statusOf(db, long.id);
    expect(after).toMatchObject({ status: 'needs_review', scheduled_send_time: null });
    expect(after.last_error).toMatch(/long enough for its 3 bubbles \(60 s apart, and a minute to spare\)/);
    expect((await auditFor(db.pool, 'message', long.id)).map((a) => a.action)).toEqual(['approved', 'unschedulable']);
    expect(await statusOf(db, single.id)).toMatchObject({ status: 'approved', scheduled_send_time: THURSDAY_9AM_LA });
  });

  it('tells windows that never meet apart from bubbles that do not fit', async () => {
    const ctx = testContext(db, {}, BEFORE_CLOSE);
    // Business hours 06:00-07:00 in Los Angeles; the recipient may be texted from 08:00 only.
    const m = await suggested(2, { businessHours: { start: 360, end: 420 } });
    expect(await approveMessage(ctx, dana, m.id, 1)).toMatchObject({ ok: true });
    const after = await statusOf(db, m.id);
    expect(after.status).toBe('needs_review');
    expect(after.last_error).toMatch(/never overlap/);
  });
});
