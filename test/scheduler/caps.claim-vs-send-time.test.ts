/**
 * The caps used to count claims (last_attempt_at = the claim's "now"), but a claimed batch
 * waits for the batch before it to be sent (sendDue pipelines claims with sends). When that
 * wait is longer than the cap's window, the next claim no longer sees the waiting batch's
 * attempts, and both batches reach the provider within the same minute.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import { OutboxSmsProvider } from '../../src/sms/outbox.ts';
import type { SmsProvider } from '../../src/sms/provider.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign } from '../support/fixtures.ts';
import { insertDueMessage, testContext } from './support.ts';

/** The most provider calls inside any sliding window of `windowMs` (a call at s counts against t while t - s < window). */
function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe.each(engines)('caps vs claims waiting for their send turn, on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db);
  });
  afterAll(() => db?.close());

  it('never lets more SMS than ratePerMinute reach the provider within a minute (slow first batch, pipelined claims)', async () => {
    const ratePerMinute = 4;
    const campaignId = await insertCampaign(db.pool, { name: `caps-${engine}`, settings: { ratePerMinute, ratePerHour: 1000, ratePerDay: 1000 } });
    const t0 = ctx.clock.now().getTime();
    const phones: string[] = [];
    // A backlog a minute late (the scheduler was busy): well within the allowed lateness.
    for (let i = 0; i < 8; i++) phones.push((await insertDueMessage(db, ctx.clock.now(), { campaignId, msAgo: 60_000 - i })).phone);
    // The provider is slow for the first two calls (45 s each on the app's clock), then fast.
    let calls = 0;
    const outbox = new OutboxSmsProvider(db.pool, ctx.clock);
    const provider: SmsProvider = {
      name: 'outbox',
      send: async (msg) => {
        const r = await outbox.send(msg);
        if (++calls <= 2) ctx.clock.advance(45_000);
        return r;
      },
      listSent: async () => [],
    };
    await new Dispatcher(ctx, provider, { bubbleGapMs: 0, batchSize: 2, pipeline: 2, concurrency: 1 }).sendDue();

    const { rows } = await db.pool.query<{ created_at: Date }>('SELECT created_at FROM sms_outbox WHERE to_phone = ANY($1::text[]) ORDER BY created_at', [phones]);
    const times = rows.map((r) => r.created_at.getTime());
    const detail = times.map((t) => `+${(t - t0) / 1000}s`).join(', ');
    // More went than one minute's cap allows (the test means something), never within one minute.
    expect(times.length, `provider calls at ${detail}`).toBeGreaterThan(ratePerMinute);
    expect(maxInWindow(times, 60_000), `provider calls at ${detail}`).toBeLessThanOrEqual(ratePerMinute);
  });
});
