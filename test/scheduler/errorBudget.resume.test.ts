/**
 * The error budget pauses a campaign when its sends fail too often; a manager looks at the
 * failures and resumes it. From then the budget starts afresh: the failures they looked at,
 * and late carrier reports of sends attempted before the resume, do not pause it again at
 * once; new failures spend it as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { resumeCampaign } from '../../src/scheduler/controls.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import { SmsSendError, type SmsProvider } from '../../src/sms/provider.ts';
import { handleStatusCallback } from '../../src/sms/status.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { campaignStatusOf, insertDueMessage, statusOf, testContext } from './support.ts';

/** A provider that refuses every number as invalid (Twilio 21211): a bad list. */
const refusing: SmsProvider = {
  name: 'twilio',
  send: async () => {
    throw new SmsSendError('permanent', '21211', "The 'To' number is not a valid phone number.");
  },
  listSent: async () => [],
};

describe.each(engines)('the error budget after a resume, on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db, { RECIPIENT_QUIET_HOURS: 'off' });
  });
  afterAll(() => db?.close());

  const dispatcher = () => new Dispatcher(ctx, refusing, { bubbleGapMs: 0, concurrency: 1, batchSize: 1 });

  const dueMessage = async (campaignId: number) => (await insertDueMessage(db, ctx.clock.now(), { campaignId, msAgo: 1000 })).id;

  it('spends it, pauses; after a resume, old failures and late reports of old sends do not pause it again; two new failures do', async () => {
    const campaignId = await insertCampaign(db.pool, { name: `budget-resume-${engine}`, settings: { errorBudget: 2, errorBudgetWindow: 20 } });
    // Sent before the trouble: its carrier report comes late.
    const earlier = await insertMessage(db.pool, { campaignId, status: 'sent', phone: (await insertCustomer(db.pool)).phone });
    await db.pool.query('UPDATE campaign_messages SET last_attempt_at = $2 WHERE id = $1', [earlier, new Date(ctx.clock.now().getTime() - 120_000)]);
    const late = (await statusOf(db, earlier)).provider_message_id!;

    for (let i = 0; i < 2; i++) {
      await dueMessage(campaignId);
      await dispatcher().runOnce();
    }
    expect(await campaignStatusOf(db, campaignId)).toMatchObject({ status: 'paused', paused_reason: 'error budget spent: 2 of the last 3 sends failed' });

    ctx.clock.advance(10 * 60_000);
    expect(await resumeCampaign(ctx, { campaignId, actor: 'Dana', surface: 'slack' })).toMatchObject({ ok: true });
    // The carrier reports the earlier send undelivered, after the resume: counted, but not against the new budget.
    expect(await handleStatusCallback(ctx, { providerMessageId: late, status: 'undelivered', errorCode: '30003' })).toEqual({ duplicate: false, changed: true });
    expect((await statusOf(db, earlier)).status).toBe('undelivered');
    expect((await campaignStatusOf(db, campaignId)).status).toBe('active');

    // New failures spend the new budget: one is within it, the second spends it.
    const third = await dueMessage(campaignId);
    await dispatcher().runOnce();
    expect((await statusOf(db, third)).status).toBe('failed');
    expect((await campaignStatusOf(db, campaignId)).status).toBe('active');
    await dueMessage(campaignId);
    await dispatcher().runOnce();
    expect(await campaignStatusOf(db, campaignId)).toMatchObject({ status: 'paused', paused_reason: 'error budget spent: 2 of the last 2 sends failed' });
  });
});
