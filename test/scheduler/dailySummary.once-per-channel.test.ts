/**
 * The daily summary: one post per chat channel per day (the outbox dedupe key), whether
 * it runs twice, from two instances at once or after a restart; per campaign the day's
 * numbers and their change from the day before, on seeded data with known answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import type { Database } from '../../src/db/database.ts';
import type { MessageStatus } from '../../src/domain/messageStatus.ts';
import { DailySummarySchedule, runDailySummary } from '../../src/scheduler/dailySummary.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertMessage } from '../support/fixtures.ts';
import { testContext } from './support.ts';

/** Wednesday 07/16 17:30 in Los Angeles (the default business zone and summary time). */
const SUMMARY_AT = '2025-07-17T00:30:00.000Z';
const TODAY = new Date('2025-07-16T19:00:00Z'); // 12:00 in Los Angeles
const YESTERDAY = new Date('2025-07-15T19:00:00Z');
const LONG_AGO = new Date('2025-07-01T19:00:00Z');
const ETA = new Date('2025-07-17T17:15:00Z'); // Thu 10:15 AM in Los Angeles

describe.each(engines)('daily summary on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db, {}, SUMMARY_AT);
    await seed();
  });
  afterAll(() => db?.close());

  async function msg(
    campaignId: number,
    status: MessageStatus,
    t: { sent?: Date; delivered?: Date; attempt?: Date; updated: Date; slot?: Date },
  ): Promise<number> {
    const id = await insertMessage(db.pool, { campaignId, status, scheduledAt: t.slot });
    await db.pool.query('UPDATE campaign_messages SET sent_at = $2, delivered_at = $3, last_attempt_at = $4, updated_at = $5 WHERE id = $1', [
      id, t.sent ?? null, t.delivered ?? null, t.attempt ?? t.sent ?? null, t.updated,
    ]);
    return id;
  }

  let inbound = 0;
  async function inboundTo(messageId: number, kind: 'reply' | 'stop', at: Date): Promise<void> {
    await db.pool.query(
      `INSERT INTO inbound_messages (provider_message_id, from_phone, body, kind, message_id, received_at)
       SELECT $1, phone, $2, $3, id, $5 FROM campaign_messages WHERE id = $4`,
      [`SMsum${engine}${++inbound}`, kind === 'stop' ? 'STOP' : 'See you soon', kind, messageId, at],
    );
  }

  async function seed(): Promise<void> {
    // "Winback" (console #ops): yesterday 3 sent, 2 delivered, 1 failed, 1 reply;
    // today 5 sent, 4 delivered, 1 undelivered, 2 replies, 1 opt-out; 2 still to go.
    const a = await insertCampaign(db.pool, { name: 'Winback', chatSurface: 'console', chatChannel: 'ops' });
    const y1 = await msg(a, 'delivered', { sent: YESTERDAY, delivered: YESTERDAY, updated: YESTERDAY });
    const y2 = await msg(a, 'delivered', { sent: YESTERDAY, delivered: YESTERDAY, updated: YESTERDAY });
    await msg(a, 'sent', { sent: YESTERDAY, updated: YESTERDAY });
    // Failed at its attempt yesterday on the app's clock; the database stamped it on its own (real) clock.
    await msg(a, 'failed', { attempt: YESTERDAY, updated: new Date() });
    const t1 = await msg(a, 'delivered', { sent: TODAY, delivered: TODAY, updated: TODAY });
    const t2 = await msg(a, 'delivered', { sent: TODAY, delivered: TODAY, updated: TODAY });
    await msg(a, 'delivered', { sent: TODAY, delivered: TODAY, updated: TODAY });
    await msg(a, 'delivered', { sent: TODAY, delivered: TODAY, updated: TODAY });
    await msg(a, 'undelivered', { sent: TODAY, updated: TODAY });
    await msg(a, 'approved', { updated: TODAY, slot: new Date(ETA.getTime() - 600_000) });
    await msg(a, 'approved', { updated: TODAY, slot: ETA });
    await inboundTo(y1, 'reply', YESTERDAY);
    await inboundTo(y2, 'reply', TODAY);
    await inboundTo(t1, 'reply', TODAY);
    await inboundTo(t2, 'stop', TODAY);

    // "Forgotten" (a draft, same channel): a suggestion nobody approved, untouched for a long time.
    const g = await insertCampaign(db.pool, { name: 'Forgotten', status: 'draft', chatSurface: 'console', chatChannel: 'ops' });
    await msg(g, 'suggested', { updated: LONG_AGO });

    // "Brunch" (paused, same channel): one send yesterday, nothing today.
    const b = await insertCampaign(db.pool, { name: 'Brunch', status: 'paused', chatSurface: 'console', chatChannel: 'ops' });
    await msg(b, 'sent', { sent: YESTERDAY, updated: YESTERDAY });

    // "Launch" (Slack #marketing): nothing sent yet, one planned; two suggestions wait for approval, one message for review.
    const c = await insertCampaign(db.pool, { name: 'Launch', chatSurface: 'slack', chatChannel: 'C0MARKETING' });
    await msg(c, 'approved', { updated: TODAY, slot: ETA });
    await msg(c, 'suggested', { updated: TODAY });
    await msg(c, 'suggested', { updated: TODAY });
    await msg(c, 'needs_review', { updated: TODAY, attempt: TODAY });

    // "Finale" (completed, console #wrapup): its last send delivered today on the app's clock,
    // stamped long before on the database's (a demo's fast clock runs ahead of it).
    const f = await insertCampaign(db.pool, { name: 'Finale', status: 'completed', chatSurface: 'console', chatChannel: 'wrapup' });
    await msg(f, 'delivered', { sent: TODAY, delivered: TODAY, updated: LONG_AGO });

    // Finished long ago, or with no chat channel: no post.
    const d = await insertCampaign(db.pool, { name: 'Old', status: 'completed', chatSurface: 'console', chatChannel: 'archive' });
    await msg(d, 'delivered', { sent: LONG_AGO, delivered: LONG_AGO, updated: LONG_AGO });
    const e = await insertCampaign(db.pool, { name: 'Nowhere' });
    await db.pool.query('UPDATE campaigns SET chat_surface = NULL, chat_channel = NULL WHERE id = $1', [e]);
    await msg(e, 'approved', { updated: TODAY, slot: ETA });
  }

  async function summaries(date: string) {
    const { rows } = await db.pool.query<{ surface: string; kind: string; dedupe_key: string; batch_id: number | null; payload: { channel: string; message: { title: string; text: string; tone: string; image?: unknown } } }>(
      `SELECT surface, kind, dedupe_key, batch_id, payload FROM chat_outbox WHERE dedupe_key LIKE 'summary:%' AND dedupe_key LIKE $1 ORDER BY dedupe_key`,
      [`%:${date}`],
    );
    return rows;
  }

  it("posts one summary per channel with each campaign's day and its change from the day before", async () => {
    expect(await runDailySummary(ctx)).toBe(3);
    // Every channel's post carries the 14-day activity chart (a PNG, with its alt text).
    const chart = {
      filename: 'activity-2025-07-16.png',
      base64: expect.stringMatching(/^iVBORw0KGgo/),
      alt: expect.stringMatching(/sent/i),
    };
    expect(await summaries('2025-07-16')).toEqual([
      {
        surface: 'console', kind: 'channel', dedupe_key: 'summary:console:ops:2025-07-16', batch_id: null,
        payload: {
          channel: 'ops',
          message: {
            title: 'Daily summary 2025-07-16',
            tone: 'info',
            text: [
              '*Brunch* (paused): sent 0 (-1 vs yesterday), delivered 0, failed 0, replies 0, opt-outs 0; pending 0',
              '*Forgotten* (draft): sent 0, delivered 0, failed 0, replies 0, opt-outs 0; pending 0; 1 to approve',
              '*Winback* (active): sent 5 (+2 vs yesterday), delivered 4 (+2 vs yesterday), failed 1, replies 2 (+1 vs yesterday), ' +
                'opt-outs 1 (+1 vs yesterday); pending 2, ETA Thu 07/17 10:15 AM',
            ].join('\n'),
            image: chart,
          },
        },
      },
      {
        surface: 'console', kind: 'channel', dedupe_key: 'summary:console:wrapup:2025-07-16', batch_id: null,
        payload: {
          channel: 'wrapup',
          message: {
            title: 'Daily summary 2025-07-16', tone: 'info', image: chart,
            text: '*Finale* (completed): sent 1 (+1 vs yesterday), delivered 1 (+1 vs yesterday), failed 0, replies 0, opt-outs 0; pending 0',
          },
        },
      },
      {
        surface: 'slack', kind: 'channel', dedupe_key: 'summary:slack:C0MARKETING:2025-07-16', batch_id: null,
        payload: {
          channel: 'C0MARKETING',
          message: {
            title: 'Daily summary 2025-07-16',
            tone: 'info',
            text: '*Launch* (active): sent 0, delivered 0, failed 0, replies 0, opt-outs 0; pending 1, ETA Thu 07/17 10:15 AM; 2 to approve; 1 in review',
            image: chart,
          },
        },
      },
    ]);
  });

  it('runs again the same day, or after a restart, without posting twice', async () => {
    await runDailySummary(ctx); // a no-op when the first test already ran, the first post otherwise
    expect(await runDailySummary(ctx)).toBe(0);
    const restarted = { ...ctx, clock: new ManualClock('2025-07-17T06:59:00.000Z') }; // 23:59, still the 16th in Los Angeles
    expect(await runDailySummary(restarted)).toBe(0);
    expect((await summaries('2025-07-16')).map((r) => r.dedupe_key)).toEqual([
      'summary:console:ops:2025-07-16',
      'summary:console:wrapup:2025-07-16',
      'summary:slack:C0MARKETING:2025-07-16',
    ]);
  });

  it('the schedule fires on the app clock at DAILY_SUMMARY_AT, once a day per process, and again after a restart without a second post', async () => {
    const clock = new ManualClock('2025-07-19T00:29:00.000Z'); // Fri 07/18 17:29 in Los Angeles
    const at = { ...ctx, clock };
    const schedule = new DailySummarySchedule(at);
    expect(await schedule.tick()).toBe(0);
    expect(await summaries('2025-07-18')).toHaveLength(0);
    clock.advance(60_000); // 17:30
    expect(await schedule.tick()).toBe(2);
    clock.advance(4 * 3_600_000); // 21:30: nothing more today
    expect(await schedule.tick()).toBe(0);
    expect(await new DailySummarySchedule(at).tick()).toBe(0); // restarted: runs, the outbox keys drop it
    expect((await summaries('2025-07-18')).map((r) => r.dedupe_key)).toEqual(['summary:console:ops:2025-07-18', 'summary:slack:C0MARKETING:2025-07-18']);
    // A process that was down at 17:30 posts when it comes back the same evening.
    const late = new DailySummarySchedule({ ...ctx, clock: new ManualClock('2025-07-20T03:00:00.000Z') }); // Sat 07/19 20:00
    expect(await late.tick()).toBe(2);
  });

  it('DAILY_SUMMARY_AT=off: the schedule never posts', async () => {
    const off = testContext(db, { DAILY_SUMMARY_AT: 'OFF' }, '2025-07-21T00:29:00.000Z'); // Sun 07/20 17:29 in Los Angeles
    expect(off.config.scheduler.dailySummaryAt).toBeNull();
    const schedule = new DailySummarySchedule(off);
    for (let i = 0; i < 8; i++, off.clock.advance(3 * 3_600_000)) expect(await schedule.tick()).toBe(0);
    expect(await summaries('2025-07-20')).toHaveLength(0);
    expect(await summaries('2025-07-21')).toHaveLength(0);
    // The same moment with the summary on does post: "off" is what kept it quiet.
    off.clock.set('2025-07-22T00:30:00.000Z'); // Mon 07/21 17:30
    expect(await new DailySummarySchedule({ ...off, config: testContext(db).config }).tick()).toBeGreaterThan(0);
  });

  it('two instances running at once post once per channel, and the next day gets its own posts', async () => {
    const nextDay = () => ({ ...ctx, clock: new ManualClock('2025-07-18T00:30:00.000Z') });
    const counts = await Promise.all([runDailySummary(nextDay()), runDailySummary(nextDay()), runDailySummary(nextDay())]);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(3);
    const rows = await summaries('2025-07-17');
    expect(rows.map((r) => r.dedupe_key)).toEqual([
      'summary:console:ops:2025-07-17',
      'summary:console:wrapup:2025-07-17',
      'summary:slack:C0MARKETING:2025-07-17',
    ]);
    // Finale finished yesterday (on the app's clock): its last day still shows, as a change.
    expect(rows[1]!.payload.message.text).toBe(
      '*Finale* (completed): sent 0 (-1 vs yesterday), delivered 0 (-1 vs yesterday), failed 0, replies 0, opt-outs 0; pending 0',
    );
    // The 17th compared with the 16th: Winback's day is all minus.
    expect(rows[0]!.payload.message.text).toContain(
      '*Winback* (active): sent 0 (-5 vs yesterday), delivered 0 (-4 vs yesterday), failed 0 (-1 vs yesterday), replies 0 (-2 vs yesterday), opt-outs 0 (-1 vs yesterday); pending 2',
    );
    expect(await summaries('2025-07-16')).toHaveLength(3);
  });
});
