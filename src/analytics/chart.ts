/**
 * The 14-day activity chart (sent, replies, opt-outs per day): one layout drawn two ways,
 * as SVG for the console and as a PNG for chat attachments (daily summary). Three small
 * panels share the day axis but each has its own scale, so 3 opt-outs stay visible next
 * to 250 sends.
 */
import { DateTime } from 'luxon';
import type { Queryable } from '../db/database.ts';
import { getCampaign } from '../db/queries/campaigns.ts';
import { escapeXml } from '../xml.ts';
import { DEFAULT_ATTRIBUTION_WINDOW_DAYS } from './attribution.ts';
import { encodePng } from './png.ts';
import { dailyActivity, type DailyActivityRow } from './queries.ts';
import { Canvas, textWidth, type Rgb } from './raster.ts';

export interface ActivitySeries {
  title: string;
  timezone: string;
  /** One entry per local day, oldest first, days without activity as zeros. */
  days: DailyActivityRow[];
  totals: { sent: number; replies: number; optOuts: number };
}

/**
 * Sent messages, replies and opt-outs per day for the `days` local days ending with the
 * day of `now` (in `timezone`, default UTC). With `campaignId`: that campaign's sends and
 * the replies/STOPs attributed to them; without: all sends, replies and STOPs.
 */
export async function activitySeries(
  q: Queryable,
  opts: { days: number; now: Date; campaignId?: number; timezone?: string; windowDays?: number },
): Promise<ActivitySeries> {
  if (!Number.isInteger(opts.days) || opts.days < 1 || opts.days > 366) {
    throw new RangeError(`activitySeries: days must be a whole number from 1 to 366, got ${opts.days}`);
  }
  const timezone = opts.timezone ?? 'UTC';
  const today = DateTime.fromJSDate(opts.now, { zone: timezone }).startOf('day');
  const dayList = Array.from({ length: opts.days }, (_, i) => today.minus({ days: opts.days - 1 - i }).toISODate()!);
  const rows = await dailyActivity(q, {
    fromDay: dayList[0]!,
    toDay: dayList[dayList.length - 1]!,
    timezone,
    campaignId: opts.campaignId,
    windowDays: opts.windowDays ?? DEFAULT_ATTRIBUTION_WINDOW_DAYS,
  });
  const byDay = new Map(rows.map((r) => [r.day, r]));
  const days = dayList.map((day) => byDay.get(day) ?? { day, sent: 0, replies: 0, optOuts: 0 });
  const campaign = opts.campaignId === undefined ? undefined : await getCampaign(q, opts.campaignId);
  const span = `last ${opts.days} day${opts.days === 1 ? '' : 's'}`;
  return {
    title: campaign ? `${campaign.name}, ${span}` : `All campaigns, ${span}`,
    timezone,
    days,
    totals: {
      sent: sum(days.map((d) => d.sent)),
      replies: sum(days.map((d) => d.replies)),
      optOuts: sum(days.map((d) => d.optOuts)),
    },
  };
}

// ---- layout: one list of shapes, two renderers -----------------------------------

type Shape =
  | { kind: 'rect'; x: number; y: number; w: number; h: number; color: Rgb }
  | { kind: 'line'; x1: number; y1: number; x2: number; y2: number; color: Rgb }
  /** `size` = cap height in pixels (the bitmap font's scale is size / 7); y is the baseline. */
  | { kind: 'text'; x: number; y: number; text: string; size: number; color: Rgb; anchor: 'start' | 'middle' | 'end' };

const INK: Rgb = [17, 24, 39];
const MUTED: Rgb = [107, 114, 128];
const RULE: Rgb = [209, 213, 219];
const PANELS = [
  { key: 'sent', label: 'Sent', color: [37, 99, 235] },
  { key: 'replies', label: 'Replies', color: [22, 163, 74] },
  { key: 'optOuts', label: 'Opt-outs', color: [220, 38, 38] },
] as const satisfies readonly { key: keyof ActivitySeries['totals']; label: string; color: Rgb }[];

const WIDTH = 960;
const MARGIN = 24;
const TOP = 64;
const PANEL_H = 104;
const PANEL_GAP = 20;
const S = 2; // text scale: 14 px capitals

function layout(series: ActivitySeries): { width: number; height: number; shapes: Shape[] } {
  const shapes: Shape[] = [];
  const text = (x: number, y: number, t: string, color: Rgb, anchor: 'start' | 'middle' | 'end' = 'start', scale = S) =>
    shapes.push({ kind: 'text', x, y, text: t, size: 7 * scale, color, anchor });
  text(MARGIN, 36, series.title, INK, 'start', 3);
  text(WIDTH - MARGIN, 36, series.timezone, MUTED, 'end');

  const n = series.days.length;
  const plotW = WIDTH - 2 * MARGIN;
  const slot = plotW / Math.max(n, 1);
  const barW = Math.max(1, Math.floor(slot * 0.6));
  PANELS.forEach((panel, i) => {
    const top = TOP + i * (PANEL_H + PANEL_GAP);
    const values = series.days.map((d) => d[panel.key]);
    const max = Math.max(0, ...values);
    text(MARGIN, top + 14, `${panel.label}: ${series.totals[panel.key]}`, panel.color);
    text(WIDTH - MARGIN, top + 14, `max ${max}/day`, MUTED, 'end');
    const plotTop = top + 40; // room for the value labels above the tallest bar
    const base = top + PANEL_H;
    const barMax = base - plotTop;
    shapes.push({ kind: 'line', x1: MARGIN, y1: base, x2: WIDTH - MARGIN, y2: base, color: RULE });
    values.forEach((v, d) => {
      if (v === 0) return;
      const h = Math.max(2, Math.round((v / max) * barMax));
      const x = Math.round(MARGIN + d * slot + (slot - barW) / 2);
      shapes.push({ kind: 'rect', x, y: base - h, w: barW, h, color: panel.color });
      const label = String(v);
      if (textWidth(label, S) <= slot - 2) text(x + barW / 2, base - h - 4, label, INK, 'middle');
    });
  });

  // Day of month under every bar, the month under the first day and each 1st.
  const axisY = TOP + PANELS.length * (PANEL_H + PANEL_GAP) - PANEL_GAP + 22;
  series.days.forEach((d, i) => {
    const cx = MARGIN + i * slot + slot / 2;
    const date = DateTime.fromISO(d.day);
    text(cx, axisY, String(date.day), MUTED, 'middle');
    if (i === 0 || date.day === 1) text(cx, axisY + 22, date.toFormat('LLL'), MUTED, 'middle');
  });
  return { width: WIDTH, height: axisY + 34, shapes };
}

/** The chart as a PNG file (for ChatMessage.image). */
export function renderActivityChartPng(series: ActivitySeries): Buffer {
  const { width, height, shapes } = layout(series);
  const canvas = new Canvas(width, height);
  for (const s of shapes) {
    if (s.kind === 'rect') canvas.fillRect(s.x, s.y, s.w, s.h, s.color);
    else if (s.kind === 'line') canvas.line(s.x1, s.y1, s.x2, s.y2, s.color);
    else canvas.text(s.x, s.y, s.text, s.color, Math.max(1, Math.round(s.size / 7)), s.anchor);
  }
  return encodePng(width, height, canvas.pixels);
}

/** The chart as a standalone SVG document (for the console). */
export function renderActivityChartSvg(series: ActivitySeries): string {
  const { width, height, shapes } = layout(series);
  const rgb = (c: Rgb) => `rgb(${c[0]},${c[1]},${c[2]})`;
  const body = shapes.map((s) => {
    if (s.kind === 'rect') return `<rect x="${s.x}" y="${s.y}" width="${s.w}" height="${s.h}" fill="${rgb(s.color)}"/>`;
    if (s.kind === 'line') return `<line x1="${s.x1}" y1="${s.y1}" x2="${s.x2}" y2="${s.y2}" stroke="${rgb(s.color)}"/>`;
    // Monospace at 10/7 of the cap height: about the bitmap font's size and advance.
    return `<text x="${round(s.x)}" y="${round(s.y)}" font-size="${round((s.size * 10) / 7)}" text-anchor="${s.anchor}" fill="${rgb(s.color)}">${escapeXml(s.text)}</text>`;
  });
  const t = series.totals;
  const summary = `${series.title}: ${t.sent} sent, ${t.replies} replies, ${t.optOuts} opt-outs`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(summary)}" font-family="ui-monospace, Menlo, Consolas, monospace">`,
    `<title>${escapeXml(summary)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
  ].join('\n');
}

/** Alt text for the image attachment. */
export function activityChartAlt(series: ActivitySeries): string {
  const t = series.totals;
  return `${series.title}: ${t.sent} sent, ${t.replies} replies, ${t.optOuts} opt-outs (per day, ${series.timezone})`;
}

/** The chart as a chat attachment, ready for `ChatMessage.image` (e.g. the daily summary). */
export function activityChartAttachment(series: ActivitySeries): { filename: string; base64: string; alt: string } {
  const last = series.days[series.days.length - 1]?.day ?? 'chart';
  return { filename: `activity-${last}.png`, base64: renderActivityChartPng(series).toString('base64'), alt: activityChartAlt(series) };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
