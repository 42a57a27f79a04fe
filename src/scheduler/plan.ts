/**
 * The planner's pure part: given the campaign's settings, its timeline so far and the
 * messages to place, returns a send slot for each. No I/O, no clock: everything it needs
 * comes in as numbers (epoch ms), so it is property-tested and fast (100k slots < 1 s).
 *
 * Rules, in order of precedence:
 * - a slot lies inside the campaign's business window (its zone, hours and days) and
 *   inside every recipient window of that message (quiet hours, state law), and they stay
 *   open until the message's last bubble goes (its span);
 * - sliding per-minute and per-hour caps and the per-day cap (calendar day in the
 *   campaign's zone) are never exceeded, counting the sends already on the timeline;
 * - consecutive slots are at least a drawn gap apart (gapMin..gapMax seconds, plus with
 *   probability skipProbability an extra skipMin..skipMax pause); the gap is drawn from
 *   the campaign seed and the message id, so the plan is deterministic;
 * - messages keep their order, except that a message whose recipient is outside their
 *   window lets the next one whose recipient is inside go first.
 */
import type { TimeWindow } from '../config.ts';
import { drawGap, type PacingSettings } from '../domain/pacing.ts';
import type { RecipientWindow } from '../domain/quietHours.ts';
import { DayBoundaries, earliestCommon, earliestFit, WindowSchedule } from '../domain/timeWindows.ts';

export interface PlanSettings extends PacingSettings {
  timezone: string;
  businessHours: TimeWindow;
  businessDays: number[];
  ratePerMinute: number;
  ratePerHour: number;
  ratePerDay: number;
}

export interface PlanItem {
  id: number;
  /** Windows the recipient's slot must fall in (empty: none beyond business hours). */
  recipient: readonly RecipientWindow[];
  /** How long (ms) every window must stay open after the slot: the message's bubbles and the margin after them (see slotSpanMs). */
  spanMs?: number;
}

export interface PlanInput {
  settings: PlanSettings;
  seed: number;
  /** No slot before this instant (usually "now"). */
  notBefore: number;
  /** The last slot already on the timeline and its message id: the next slot keeps its gap. */
  previous?: { at: number; id: number } | null;
  /** Sorted instants of sends already on the timeline (for the caps); all <= every new slot. */
  history?: readonly number[];
  items: readonly PlanItem[];
}

/** Why a slot is where it is: the drawn gap, a drawn extra pause, a closed window, or a cap. */
export type SlotReason = 'gap' | 'pause' | 'window' | 'cap' | 'start';

export interface PlannedSlot {
  id: number;
  at: number;
  reason: SlotReason;
}

export interface PlanResult {
  slots: PlannedSlot[];
  /** Items that no window lets through within the horizon (e.g. recipient window never meets business hours). */
  unplaceable: number[];
  /** Those of `unplaceable` whose windows do meet, but never for long enough for their bubbles. */
  tooShort: number[];
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
/** Beyond this, give up on a message rather than plan it years ahead. */
const HORIZON_MS = 400 * 24 * HOUR;

// Schedules are cached across calls: luxon work is done once per zone/window/day.
const scheduleCache = new Map<string, WindowSchedule>();
const dayCache = new Map<string, DayBoundaries>();

export function windowSchedule(zone: string, window: TimeWindow, days?: readonly number[]): WindowSchedule {
  const key = `${zone}|${window.start}|${window.end}|${days?.join('') ?? '*'}`;
  let s = scheduleCache.get(key);
  if (!s) {
    s = new WindowSchedule(zone, window, days);
    scheduleCache.set(key, s);
  }
  return s;
}

export function dayBoundaries(zone: string): DayBoundaries {
  let d = dayCache.get(zone);
  if (!d) {
    d = new DayBoundaries(zone);
    dayCache.set(zone, d);
  }
  return d;
}

interface Lane {
  schedules: WindowSchedule[];
  spanMs: number;
  items: number[]; // indexes into input.items, in order
  head: number;
  /** Earliest allowed instant for the head, valid for any cursor <= it. */
  earliest: number;
}

/** Places every item; see the module comment for the rules. */
export function planSlots(input: PlanInput): PlanResult {
  const s = input.settings;
  const business = windowSchedule(s.timezone, s.businessHours, s.businessDays);
  const days = dayBoundaries(s.timezone);
  const times: number[] = [...(input.history ?? [])];

  // Messages with the same recipient windows and bubble span share a lane (a handful of lanes per campaign).
  const lanes = new Map<string, Lane>();
  for (let index = 0; index < input.items.length; index++) {
    const { recipient, spanMs = 0 } = input.items[index]!;
    const key = `${spanMs}/${laneKey(recipient)}`;
    let lane = lanes.get(key);
    if (!lane) {
      const schedules = [business, ...recipient.map((r) => windowSchedule(r.zone, r.window))];
      lane = { schedules, spanMs, items: [], head: 0, earliest: -Infinity };
      lanes.set(key, lane);
    }
    lane.items.push(index);
  }
  const open = [...lanes.values()];

  let cursor = input.notBefore;
  let reason: SlotReason = 'start';
  if (input.previous) {
    const g = drawGap(input.seed, input.previous.id, s);
    const after = input.previous.at + g.seconds * 1000;
    if (after >= cursor) {
      cursor = after;
      reason = g.pause ? 'pause' : 'gap';
    }
  }
  const limit = input.notBefore + HORIZON_MS;
  const slots: PlannedSlot[] = [];
  const unplaceable: number[] = [];
  const tooShort: number[] = [];

  while (open.length) {
    // The lane that can go earliest; ties go to the message that came first.
    let best: Lane | undefined;
    for (let i = open.length - 1; i >= 0; i--) {
      const lane = open[i]!;
      if (lane.earliest < cursor) lane.earliest = earliestFit(lane.schedules, cursor, lane.spanMs);
      if (lane.earliest === Infinity || lane.earliest > limit) {
        const short = lane.spanMs > 0 && lane.earliest === Infinity && earliestCommon(lane.schedules, cursor) <= limit;
        for (let k = lane.head; k < lane.items.length; k++) {
          const id = input.items[lane.items[k]!]!.id;
          unplaceable.push(id);
          if (short) tooShort.push(id);
        }
        open.splice(i, 1);
        continue;
      }
      if (
        !best ||
        lane.earliest < best.earliest ||
        (lane.earliest === best.earliest && lane.items[lane.head]! < best.items[best.head]!)
      ) {
        best = lane;
      }
    }
    if (!best) break;
    const t = best.earliest;
    const release = capRelease(times, t, s, days);
    if (release > t) {
      cursor = release;
      reason = 'cap';
      continue;
    }
    const item = input.items[best.items[best.head]!]!;
    slots.push({ id: item.id, at: t, reason: t > cursor ? 'window' : reason });
    times.push(t);
    best.head++;
    if (best.head === best.items.length) open.splice(open.indexOf(best), 1);
    const g = drawGap(input.seed, item.id, s);
    cursor = t + g.seconds * 1000;
    reason = g.pause ? 'pause' : 'gap';
  }
  return { slots, unplaceable, tooShort };
}

/** Identifies a set of recipient windows regardless of order. */
function laneKey(recipient: readonly RecipientWindow[]): string {
  if (recipient.length === 0) return '';
  if (recipient.length === 1) return `${recipient[0]!.zone}|${recipient[0]!.window.start}|${recipient[0]!.window.end}`;
  return recipient.map((r) => `${r.zone}|${r.window.start}|${r.window.end}`).sort().join(';');
}

/** The earliest instant >= t at which one more send stays within every cap (t itself when it does). */
export function capRelease(
  times: readonly number[],
  t: number,
  caps: { ratePerMinute: number; ratePerHour: number; ratePerDay: number },
  days: DayBoundaries,
): number {
  const n = times.length;
  let release = t;
  // Sliding windows: a send at s counts against t while t - s < window.
  if (n >= caps.ratePerMinute) {
    const s = times[n - caps.ratePerMinute]!;
    if (t - s < MINUTE) release = Math.max(release, s + MINUTE);
  }
  if (n >= caps.ratePerHour) {
    const s = times[n - caps.ratePerHour]!;
    if (t - s < HOUR) release = Math.max(release, s + HOUR);
  }
  if (n >= caps.ratePerDay) {
    const s = times[n - caps.ratePerDay]!;
    const dayStart = days.dayStart(t);
    if (s >= dayStart) release = Math.max(release, days.nextDayStart(t));
  }
  return release;
}
