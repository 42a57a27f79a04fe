/**
 * The planned schedule of a campaign, read-only: stored slots of approved messages, then a
 * hypothetical plan (same planner, nothing written) for approved messages without a slot
 * and for suggested ones, as if they were approved now.
 */
import { DateTime } from 'luxon';
import { effectiveSettings } from '../campaigns/settings.ts';
import type { AppContext } from '../context.ts';
import { getCampaign } from '../db/queries/campaigns.ts';
import { maskPhone } from '../domain/phone.ts';
import { planSlots, type PlanItem, type SlotReason } from './plan.ts';
import { planItem } from './recipients.ts';
import { lastSlot, previewMessages, timelineSince } from './queries.ts';

export interface PreviewRow {
  messageId: number;
  customerName: string;
  maskedPhone: string;
  at: Date;
  /** Seconds since the previous row's slot (null for the first). */
  gapSeconds: number | null;
  reason: SlotReason;
  segments: number;
  /** Not stored: what the planner would do if it were approved now. */
  hypothetical: boolean;
}

export interface SchedulePreview {
  campaignId: number;
  campaignName: string;
  status: string;
  timezone: string;
  rows: PreviewRow[];
  /** Messages no window admits (they would need review). */
  unplaceable: number;
  first: Date | null;
  last: Date | null;
  durationMs: number;
  pauses: number;
  estimatedCompletion: Date | null;
}

/** Plans nothing, writes nothing: what the campaign's schedule looks like now. */
export async function previewCampaign(ctx: AppContext, campaignId: number): Promise<SchedulePreview> {
  const q = ctx.db.pool;
  const campaign = await getCampaign(q, campaignId);
  if (!campaign) throw new Error(`campaign ${campaignId} does not exist`);
  const settings = effectiveSettings(ctx.config, campaign.settings);
  const rows = await previewMessages(q, campaignId);
  const planned = rows.filter((r) => r.status === 'approved' && r.scheduled_send_time);
  const rest = rows.filter((r) => !(r.status === 'approved' && r.scheduled_send_time));
  const byId = new Map(rows.map((r) => [Number(r.id), r]));
  const now = ctx.clock.now().getTime();

  const slots: { id: number; at: number; reason: SlotReason; hypothetical: boolean }[] = planned.map((r) => ({
    id: Number(r.id), at: r.scheduled_send_time!.getTime(), reason: 'gap', hypothetical: false,
  }));
  let unplaceable = 0;
  if (rest.length) {
    const gapMs = ctx.config.scheduler.bubbleGapSeconds * 1000;
    const items: PlanItem[] = [];
    for (const r of rest) items.push(await planItem(r, settings, gapMs));
    const prev = await lastSlot(q, campaignId, false);
    // Sends already made count against the caps too, as in the planner (a local day is at most 25 hours).
    const history = await timelineSince(q, campaignId, new Date(now - 26 * 3_600_000), false);
    const plan = planSlots({
      settings, seed: campaign.seed, notBefore: now, items, history,
      previous: prev ? { at: prev.at.getTime(), id: Number(prev.id) } : null,
    });
    slots.push(...plan.slots.map((s) => ({ ...s, hypothetical: true })));
    unplaceable = plan.unplaceable.length;
  }
  let pauses = 0;
  const out: PreviewRow[] = slots.map((s, i) => {
    const r = byId.get(s.id)!;
    const gap = i > 0 ? Math.round((s.at - slots[i - 1]!.at) / 1000) : null;
    // Stored slots don't keep their reason: a gap beyond the longest drawn gap was a pause or a closed window.
    const reason: SlotReason =
      !s.hypothetical && gap !== null
        ? gap > settings.gapMaxSeconds + settings.skipMaxSeconds ? 'window' : gap > settings.gapMaxSeconds ? 'pause' : 'gap'
        : s.reason;
    if (reason === 'pause') pauses++;
    return {
      messageId: s.id, customerName: shortName(r.name), maskedPhone: maskPhone(r.phone), at: new Date(s.at), gapSeconds: gap,
      reason, segments: r.segments, hypothetical: s.hypothetical,
    };
  });
  const first = out[0]?.at ?? null;
  const last = out.at(-1)?.at ?? null;
  return {
    campaignId, campaignName: campaign.name, status: campaign.status, timezone: settings.timezone, rows: out, unplaceable,
    first, last, durationMs: first && last ? last.getTime() - first.getTime() : 0, pauses, estimatedCompletion: last,
  };
}

/** "Andrew Thompson" -> "Andrew T." */
function shortName(name: string | null): string {
  if (!name) return '(no name)';
  const parts = name.trim().split(/\s+/);
  return parts.length > 1 ? `${parts[0]} ${parts.at(-1)![0]}.` : parts[0]!;
}

function duration(ms: number): string {
  const m = Math.round(ms / 60_000);
  const d = Math.floor(m / 1440);
  const h = Math.floor((m % 1440) / 60);
  return [d ? `${d}d` : '', h ? `${h}h` : '', `${m % 60}m`].filter(Boolean).join(' ');
}

/** One line a message, then first/last send, duration, pauses and the estimated completion. */
export function formatPreview(p: SchedulePreview, opts: { maxLines?: number } = {}): string {
  const fmt = (d: Date) => DateTime.fromJSDate(d, { zone: p.timezone }).toFormat('MM/dd hh:mm a');
  const total = p.rows.length;
  if (total === 0) return `Campaign "${p.campaignName}" has nothing planned: approve messages first.`;
  // At least the first line, the elision and the last four: below that the slices overlap.
  const max = Math.max(6, opts.maxLines ?? 50);
  const show = total > max ? [...p.rows.slice(0, max - 5), null, ...p.rows.slice(-4)] : p.rows;
  const lines = show.map((r) => {
    if (!r) return `  ... ${total - max + 1} more ...`;
    const i = p.rows.indexOf(r) + 1;
    const gap = r.gapSeconds === null ? 'first' : `+${Math.round(r.gapSeconds / 60)}m${r.reason === 'pause' ? ' (pause)' : r.reason === 'window' ? ' (next window)' : r.reason === 'cap' ? ' (cap)' : ''}`;
    return `[${i}/${total}] ${r.customerName} | ${r.maskedPhone} | ${fmt(r.at)} | ${gap} | ${r.segments} segment${r.segments === 1 ? '' : 's'}${r.hypothetical ? ' | if approved now' : ''}`;
  });
  const hypothetical = p.rows.filter((r) => r.hypothetical).length;
  return [
    `Schedule of "${p.campaignName}" (${p.status}, times in ${p.timezone})`,
    ...lines,
    '',
    `First send: ${fmt(p.first!)}   Last send: ${fmt(p.last!)}   Duration: ${duration(p.durationMs)}   Pauses: ${p.pauses}`,
    `Estimated completion: ${fmt(p.estimatedCompletion!)}${hypothetical ? ` (${hypothetical} not yet approved or planned: shown as if approved now)` : ''}`,
    ...(p.unplaceable ? [`${p.unplaceable} messages fit no sending window (business hours vs recipient quiet hours, or no opening long enough for their bubbles).`] : []),
  ].join('\n');
}
