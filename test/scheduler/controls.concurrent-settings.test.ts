/**
 * Two managers changing different settings of one campaign at once: each change merges onto
 * the other's (the campaign is locked before its settings are read), so neither is lost, and
 * in particular quiet hours one of them narrowed hold for the next send. Real PostgreSQL
 * only (PGlite runs one transaction at a time).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { changeCampaignSettings } from '../../src/scheduler/controls.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import { OutboxSmsProvider } from '../../src/sms/outbox.ts';
import { openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { outboxFor, statusOf, testContext } from './support.ts';
import { waitForLockWaiters } from '../support/locks.ts';

describe.skipIf(!process.env.TEST_DATABASE_URL)('concurrent settings changes on postgres', () => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  beforeAll(async () => {
    db = await openTestDatabase('postgres');
    ctx = testContext(db);
  });
  afterAll(() => db?.close());

  /** Two managers change different settings of one campaign within the same instant. */
  async function raceTwoChanges(name: string) {
    const campaignId = await insertCampaign(db.pool, { name });
    // 10:00 in Los Angeles: inside the default quiet window (08:00-21:00), outside 12:00-18:00.
    const c = await insertCustomer(db.pool, { timezone: 'America/Los_Angeles', state: 'CA' });
    const id = await insertMessage(db.pool, {
      campaignId, status: 'approved', phone: c.phone, customerId: c.id, scheduledAt: new Date(ctx.clock.now().getTime() - 60_000),
    });
    // Hold the campaign row so both changes read the stored settings before either writes
    // (the interleaving two clicks within the same few milliseconds get).
    const blocker = await db.pool.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT id FROM campaigns WHERE id = $1 FOR UPDATE', [campaignId]);
    // Ana's change reaches the row first, Ben's (read a moment later) queues behind it.
    const quiet = changeCampaignSettings(ctx, { campaignId, assignments: 'quiet=12:00-18:00', actor: 'ana', surface: 'slack' });
    await waitForLockWaiters(db.pool, 1);
    const perHour = changeCampaignSettings(ctx, { campaignId, assignments: 'per_hour=60', actor: 'ben', surface: 'discord' });
    await waitForLockWaiters(db.pool, 2);
    await blocker.query('COMMIT');
    blocker.release();
    const results = await Promise.all([quiet, perHour]);
    // Both managers are told their change was applied.
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    return { campaignId, id, phone: c.phone };
  }

  it('two settings changes at once both land in the stored settings', async () => {
    const { campaignId } = await raceTwoChanges('settings-race-1');
    const { rows } = await db.pool.query('SELECT settings FROM campaigns WHERE id = $1', [campaignId]);
    expect(rows[0].settings).toMatchObject({ ratePerHour: 60, recipientQuietHours: { start: 720, end: 1080 } });
  });

  it('after two settings changes at once, nothing goes out in the quiet hours one of them set', async () => {
    const { id, phone } = await raceTwoChanges('settings-race-2');
    // 10:00 local, quiet hours set to 12:00-18:00 a moment ago and confirmed as "Updated".
    await new Dispatcher(ctx, new OutboxSmsProvider(db.pool, ctx.clock), { bubbleGapMs: 0 }).runOnce();
    expect(await outboxFor(db, phone)).toEqual([]);
    expect((await statusOf(db, id)).status).toBe('approved');
  });
});
