/**
 * The daily summary: once a day (config.scheduler.dailySummaryAt in the business time
 * zone, on the app's clock) one post per chat channel with each campaign's day. The outbox dedupe key
 * 'summary:<surface>:<channel>:<date>' makes it once per channel per day, whatever the
 * number of instances or restarts.
 */
import { DateTime } from 'luxon';
import { activityChartAttachment, activitySeries } from '../analytics/chart.ts';
import type { ChatMessage } from '../bot/chatSurface.ts';
import type { AppContext } from '../context.ts';
import { enqueueChatPosts } from '../db/queries/outbox.ts';
import { formatWhen } from './progress.ts';
import { summaryCampaigns } from './queries.ts';
import { sendCounts, type SendCounts } from './stats.ts';

function delta(today: number, yesterday: number): string {
  const d = today - yesterday;
  return d === 0 ? '' : ` (${d > 0 ? '+' : ''}${d} vs yesterday)`;
}

export function summaryLine(name: string, status: string, t: SendCounts, y: SendCounts, zone: string): string {
  return (
    `*${name}* (${status}): sent ${t.sent}${delta(t.sent, y.sent)}, delivered ${t.delivered}${delta(t.delivered, y.delivered)}, ` +
    `failed ${t.failed}${delta(t.failed, y.failed)}, replies ${t.replies}${delta(t.replies, y.replies)}, ` +
    `opt-outs ${t.optOuts}${delta(t.optOuts, y.optOuts)}; pending ${t.pending}` +
    (t.lastSlotAt && t.pending ? `, ETA ${formatWhen(t.lastSlotAt, zone)}` : '') +
    // What waits for a person, said where a manager looks once a day.
    (t.toApprove ? `; ${t.toApprove} to approve` : '') +
    (t.inReview ? `; ${t.inReview} in review` : '')
  );
}

/**
 * When the summary runs: on the app's clock, checked every scheduler tick, once the business
 * day has reached DAILY_SUMMARY_AT. So it fires on time, after a restart that missed the
 * minute (the outbox keys still make it once per channel per day), and on the demo's fast clock.
 */
export class DailySummarySchedule {
  /** The business date this process last ran the summary for. */
  private ranFor: string | null = null;
  constructor(private readonly ctx: AppContext) {}

  /** Runs today's summary when it is due and this process has not run it today; returns posts enqueued. */
  async tick(): Promise<number> {
    const at = this.ctx.config.scheduler.dailySummaryAt;
    if (at === null) return 0; // DAILY_SUMMARY_AT=off
    const zone = this.ctx.config.campaignDefaults.timezone;
    const now = DateTime.fromJSDate(this.ctx.clock.now(), { zone });
    const [hour, minute] = at.split(':').map(Number);
    const date = now.toISODate()!;
    if (this.ranFor === date || now < now.set({ hour: hour!, minute: minute!, second: 0, millisecond: 0 })) return 0;
    this.ranFor = date;
    try {
      return await runDailySummary(this.ctx);
    } catch (e) {
      this.ranFor = null; // the next tick tries again
      throw e;
    }
  }
}

/** Enqueues today's summary for every channel with a live or recently active campaign. Returns posts enqueued. */
export async function runDailySummary(ctx: AppContext): Promise<number> {
  const zone = ctx.config.campaignDefaults.timezone;
  const now = DateTime.fromJSDate(ctx.clock.now(), { zone });
  const today = now.startOf('day');
  const spanToday = { since: today.toJSDate(), until: today.plus({ days: 1 }).toJSDate() };
  const spanYesterday = { since: today.minus({ days: 1 }).toJSDate(), until: today.toJSDate() };
  const rows = await summaryCampaigns(ctx.db.pool, spanYesterday.since);
  const channels = new Map<string, { surface: string; channel: string; lines: string[] }>();
  for (const c of rows) {
    const t = await sendCounts(ctx.db.pool, { campaignId: c.id }, spanToday);
    const y = await sendCounts(ctx.db.pool, { campaignId: c.id }, spanYesterday);
    const key = `${c.chat_surface}:${c.chat_channel}`;
    const entry = channels.get(key) ?? { surface: c.chat_surface, channel: c.chat_channel, lines: [] };
    entry.lines.push(summaryLine(c.name, c.status, t, y, zone));
    channels.set(key, entry);
  }
  const date = today.toISODate()!;
  // The last 14 days (sent, replies, opt-outs) as a picture, attached to every channel's post.
  const image = channels.size
    ? activityChartAttachment(await activitySeries(ctx.db.pool, { days: 14, now: ctx.clock.now(), timezone: zone }))
    : undefined;
  const items = [...channels.values()].map((ch) => {
    const message: ChatMessage = { title: `Daily summary ${date}`, text: ch.lines.join('\n'), tone: 'info', ...(image ? { image } : {}) };
    return {
      surface: ch.surface,
      kind: 'channel' as const,
      dedupeKey: `summary:${ch.surface}:${ch.channel}:${date}`,
      payload: { channel: ch.channel, message },
    };
  });
  return enqueueChatPosts(ctx.db.pool, items);
}
