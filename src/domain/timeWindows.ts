/**
 * Daily time windows ("09:00-20:00" on some weekdays) in an IANA time zone, as concrete
 * open intervals in epoch milliseconds. Luxon turns each local day into instants (so a
 * window keeps its wall-clock hours across DST changes); the intervals are generated
 * lazily and cached, so the planner's hot loop only does binary searches.
 */
import { DateTime } from 'luxon';
import type { TimeWindow } from '../config.ts';

/** [open, close) in epoch milliseconds. */
export interface Interval {
  open: number;
  close: number;
}

const ALL_DAYS = [1, 2, 3, 4, 5, 6, 7];

/**
 * The open intervals of `window` on `days` (ISO weekdays of the day the window STARTS on;
 * a window whose end is before its start runs past midnight into the next day, and one
 * whose end equals its start lasts the whole day).
 */
export class WindowSchedule {
  private intervals: Interval[] = [];
  /** One past the last generated local day (at 00:00 in the zone). */
  private endDay: DateTime | null = null;
  /** Instants of the first generated midnight and of endDay, for cheap coverage checks. */
  private coverStart = Infinity;
  private coverEnd = -Infinity;
  private readonly days: ReadonlySet<number>;

  constructor(
    readonly zone: string,
    readonly window: TimeWindow,
    days: readonly number[] = ALL_DAYS,
  ) {
    if (!DateTime.now().setZone(zone).isValid) throw new Error(`unknown time zone ${zone}`);
    this.days = new Set(days);
    if (this.days.size === 0) throw new Error('a window schedule needs at least one day');
  }

  /** Whether `t` lies inside an open interval. */
  contains(t: number): boolean {
    const iv = this.next(t);
    return iv.open <= t;
  }

  /** The first interval that closes after `t` (it may already be open at `t`). */
  next(t: number): Interval {
    this.cover(t);
    for (;;) {
      const i = firstClosingAfter(this.intervals, t);
      const iv = this.intervals[i];
      // Only trust an interval that starts before the generated range ends: a later day
      // could hold an earlier one.
      if (iv && iv.open <= this.coverEnd) return iv;
      this.extend(7);
    }
  }

  private cover(t: number): void {
    // The day before t may hold a window that runs past midnight into t's day: keep a
    // margin of generated days before t.
    if (this.endDay === null || t < this.coverStart + 30 * 3_600_000) this.reset(t);
    while (t >= this.coverEnd) this.extend(14);
  }

  private reset(t: number): void {
    const day = DateTime.fromMillis(t, { zone: this.zone }).startOf('day').minus({ days: 2 });
    this.intervals = [];
    this.endDay = day;
    this.coverStart = day.toMillis();
    this.coverEnd = this.coverStart;
  }

  private extend(n: number): void {
    let d = this.endDay!;
    for (let k = 0; k < n; k++) {
      if (this.days.has(d.weekday)) {
        const open = atMinute(d, this.window.start);
        const close =
          this.window.end > this.window.start ? atMinute(d, this.window.end) : atMinute(d.plus({ days: 1 }), this.window.end);
        if (close > open) this.intervals.push({ open, close });
      }
      d = d.plus({ days: 1 });
    }
    this.endDay = d;
    this.coverEnd = d.toMillis();
  }
}

/** The instant of `minute` minutes after midnight on local day `day` (luxon moves times in a DST gap forward). */
function atMinute(day: DateTime, minute: number): number {
  return day.set({ hour: Math.floor(minute / 60), minute: minute % 60, second: 0, millisecond: 0 }).toMillis();
}

function firstClosingAfter(intervals: Interval[], t: number): number {
  let lo = 0;
  let hi = intervals.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (intervals[mid]!.close > t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The earliest instant >= `t` inside every schedule at once (the intersection), or
 * Infinity when none opens within `horizonMs` (windows that never overlap).
 */
export function earliestCommon(schedules: readonly WindowSchedule[], t: number, horizonMs = 40 * 86_400_000): number {
  const limit = t + horizonMs;
  let cur = t;
  for (;;) {
    let moved = false;
    for (const s of schedules) {
      const iv = s.next(cur);
      if (iv.open > cur) {
        cur = iv.open;
        moved = true;
      }
    }
    if (!moved) return cur;
    if (cur > limit) return Infinity;
  }
}

/** Local days in a zone, for calendar-day caps (days are 23 to 25 hours long across DST). */
export class DayBoundaries {
  // A window that starts and ends at midnight tiles the timeline with whole local days.
  private readonly days: WindowSchedule;
  constructor(zone: string) {
    this.days = new WindowSchedule(zone, { start: 0, end: 0 });
  }
  /** Start of the local day containing `t`. */
  dayStart(t: number): number {
    return this.days.next(t).open;
  }
  /** Start of the local day after the one containing `t`. */
  nextDayStart(t: number): number {
    return this.days.next(t).close;
  }
}
