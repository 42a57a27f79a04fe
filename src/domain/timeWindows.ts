/**
 * Daily time windows ("09:00-20:00" on some weekdays) in an IANA time zone, as concrete
 * open intervals in epoch milliseconds.
 *
 * A window is a wall-clock rule: an instant is inside when the zone's clock reads a time
 * inside the window (on a listed weekday). Across DST changes that is not one interval per
 * day: on the fall-back day a window that opens at 01:30 is open during the first 01:30-02:00,
 * closed during the repeated 01:00-01:30 and open again from the second 01:30; on the
 * spring-forward day an edge at 02:30 falls at 03:00, the first instant the clock reads
 * later. So the intervals are computed as the exact preimage of each local day's window
 * under the zone's clock, from the zone's UTC offsets (asked of luxon every few days, a
 * change bisected to the second, and cached), in plain epoch-ms arithmetic. They are
 * generated lazily and cached, so the planner's hot loop only does index look-ups.
 */
import { IANAZone } from 'luxon';
import type { TimeWindow } from '../config.ts';

/** [open, close) in epoch milliseconds. */
export interface Interval {
  open: number;
  close: number;
}

const MINUTE = 60_000;
const DAY = 86_400_000;
const ALL_DAYS = [1, 2, 3, 4, 5, 6, 7];

/** A stretch of time during which a zone's UTC offset stays the same: local = utc + offset. */
interface OffsetSegment {
  from: number;
  to: number;
  offset: number;
}

// Offsets are sampled every SAMPLE ms (no zone changes its offset twice within 4 days; a
// luxon offset costs ~10 us, so sampling is what a cold plan pays for) and the change
// instant is bisected to the second; chunks of CHUNK ms are cached.
const SAMPLE = 4 * DAY;
const CHUNK = 32 * DAY;

/** A zone's UTC offsets as constant-offset segments, computed on demand per chunk and cached. */
class ZoneOffsets {
  private readonly chunks = new Map<number, OffsetSegment[]>();
  private last: OffsetSegment = { from: 0, to: 0, offset: 0 };

  constructor(private readonly zone: IANAZone) {}

  /** The offset (ms) in force at `t`. */
  offsetAt(t: number): number {
    const last = this.last;
    if (t >= last.from && t < last.to) return last.offset;
    for (const s of this.chunk(Math.floor(t / CHUNK))) {
      if (t < s.to) {
        this.last = s;
        return s.offset;
      }
    }
    throw new Error(`no UTC offset for ${this.zone.name} at ${t}`);
  }

  /** The segments overlapping [from, to), in time order (a segment may be split at chunk edges). */
  segments(from: number, to: number): OffsetSegment[] {
    const out: OffsetSegment[] = [];
    for (let c = Math.floor(from / CHUNK); c * CHUNK < to; c++) {
      for (const s of this.chunk(c)) if (s.to > from && s.from < to) out.push(s);
    }
    return out;
  }

  /** The first instant whose local time is at or after local instant `local`. */
  firstAtOrAfterLocal(local: number): number {
    for (const s of this.segments(local - 2 * DAY, local + 2 * DAY)) {
      const t = Math.max(s.from, local - s.offset);
      if (t < s.to) return t;
    }
    throw new Error(`no instant in ${this.zone.name} reads local ${local}`);
  }

  private chunk(c: number): OffsetSegment[] {
    let segs = this.chunks.get(c);
    if (segs) return segs;
    segs = [];
    const start = c * CHUNK;
    const end = start + CHUNK;
    let from = start;
    let offset = this.offsetMs(start);
    for (let a = start; a < end; a += SAMPLE) {
      const b = a + SAMPLE;
      if (this.offsetMs(b) === offset) continue;
      // Bisect (a, b] to the second for the first instant with another offset.
      let lo = a;
      let hi = b;
      while (hi - lo > 1000) {
        const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
        if (this.offsetMs(mid) === offset) lo = mid;
        else hi = mid;
      }
      if (hi > from) segs.push({ from, to: Math.min(hi, end), offset });
      from = hi;
      offset = this.offsetMs(hi);
    }
    if (end > from) segs.push({ from, to: end, offset });
    this.chunks.set(c, segs);
    return segs;
  }

  private offsetMs(t: number): number {
    return Math.round(this.zone.offset(t) * MINUTE);
  }
}

const zoneOffsetCache = new Map<string, ZoneOffsets>();

function zoneOffsets(zone: string): ZoneOffsets {
  let z = zoneOffsetCache.get(zone);
  if (!z) {
    if (!IANAZone.isValidZone(zone)) throw new Error(`unknown time zone ${zone} (expected an IANA name such as America/Los_Angeles)`);
    z = new ZoneOffsets(IANAZone.create(zone));
    zoneOffsetCache.set(zone, z);
  }
  return z;
}

/** Local midnight (as local epoch ms, i.e. the wall clock read as if it were UTC) of the day holding local instant `local`. */
function localMidnight(local: number): number {
  return Math.floor(local / DAY) * DAY;
}

/** ISO weekday (1 = Monday ... 7 = Sunday) of a local midnight (1970-01-01 was a Thursday). */
function isoWeekday(midnight: number): number {
  return ((((Math.floor(midnight / DAY) + 3) % 7) + 7) % 7) + 1;
}

/**
 * The open intervals of `window` on `days` (ISO weekdays of the day the window STARTS on;
 * a window whose end is before its start runs past midnight into the next day, and one
 * whose end equals its start lasts the whole day).
 */
export class WindowSchedule {
  private intervals: Interval[] = [];
  /** Next local day (local midnight) to generate. */
  private endDay = 0;
  /** Instants between which every interval is known: [coverStart, coverEnd). */
  private coverStart = Infinity;
  private coverEnd = -Infinity;
  private readonly days: boolean[] = [];
  private readonly offsets: ZoneOffsets;
  /** Window start and length in ms from its day's local midnight. */
  private readonly openAfter: number;
  private readonly length: number;
  /** Index of the interval the last look-up found: the planner's cursor mostly stays in it or moves to the next. */
  private hint = 0;

  constructor(
    readonly zone: string,
    readonly window: TimeWindow,
    days: readonly number[] = ALL_DAYS,
  ) {
    this.offsets = zoneOffsets(zone);
    for (const d of days) {
      if (!Number.isInteger(d) || d < 1 || d > 7) throw new Error(`weekday ${d} is not an ISO weekday (1 = Monday ... 7 = Sunday)`);
      this.days[d] = true;
    }
    if (days.length === 0) throw new Error('a window schedule needs at least one day');
    this.openAfter = window.start * MINUTE;
    this.length = (window.end > window.start ? window.end - window.start : window.end + 1440 - window.start) * MINUTE;
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
      const i = this.indexClosingAfter(t);
      const iv = this.intervals[i];
      // Only trust an interval that opens inside the covered range: a later day could hold an earlier one.
      if (iv && iv.open < this.coverEnd) return iv;
      this.extend(7);
    }
  }

  /** Index of the first interval closing after `t`: the hinted one or the one after it, else a binary search. */
  private indexClosingAfter(t: number): number {
    const ivs = this.intervals;
    for (let i = this.hint; i <= this.hint + 1 && i < ivs.length; i++) {
      if (ivs[i]!.close > t && (i === 0 || ivs[i - 1]!.close <= t)) return (this.hint = i);
    }
    const i = firstClosingAfter(ivs, t);
    this.hint = Math.min(i, Math.max(ivs.length - 1, 0));
    return i;
  }

  private cover(t: number): void {
    if (t < this.coverStart) this.reset(t);
    while (t >= this.coverEnd) this.extend(14);
  }

  private reset(t: number): void {
    // Start three local days back: a window from the day before may still be open at t,
    // and a local midnight read as UTC lies up to 14 hours after t.
    const first = localMidnight(t + this.offsets.offsetAt(t)) - 3 * DAY;
    this.intervals = [];
    this.hint = 0;
    this.endDay = first;
    this.coverStart = first + 2 * DAY;
    this.coverEnd = -Infinity;
  }

  /**
   * Generates `n` more local days. Days before endDay are complete, so every instant whose
   * clock reads before endDay - 1 day (windows last at most a day) is covered; offsets lie
   * within -12..+14 hours, hence coverEnd = endDay - 1 day (and coverStart = first day + 2 days).
   */
  private extend(n: number): void {
    const batch: Interval[] = [];
    for (let k = 0; k < n; k++, this.endDay += DAY) {
      if (!this.days[isoWeekday(this.endDay)]) continue;
      const lo = this.endDay + this.openAfter;
      const hi = lo + this.length;
      // The instants whose clock reads inside [lo, hi): per constant-offset segment, one piece.
      for (const s of this.offsets.segments(lo - 2 * DAY, hi + 2 * DAY)) {
        const open = Math.max(s.from, lo - s.offset);
        const close = Math.min(s.to, hi - s.offset);
        if (open < close) batch.push({ open, close });
      }
    }
    batch.sort((a, b) => a.open - b.open);
    const out = this.intervals;
    for (const iv of batch) {
      const last = out[out.length - 1];
      if (last && last.close >= iv.open) out[out.length - 1] = { open: last.open, close: Math.max(last.close, iv.close) };
      else out.push(iv);
    }
    this.coverEnd = this.endDay - DAY;
  }
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

/** Whether every schedule is open at `t` and stays open for `spanMs` more (without a gap). */
export function openThrough(schedules: readonly WindowSchedule[], t: number, spanMs: number): boolean {
  for (const s of schedules) {
    const iv = s.next(t);
    if (iv.open > t || iv.close <= t + spanMs) return false;
  }
  return true;
}

/**
 * The earliest instant >= `t` from which every schedule stays open for `spanMs` more (a
 * message's bubbles go out over that span, the last one usually carrying the opt-out text),
 * or Infinity when no common opening that long starts within `horizonMs`. With a zero span
 * it is `earliestCommon`.
 */
export function earliestFit(schedules: readonly WindowSchedule[], t: number, spanMs: number, horizonMs = 40 * 86_400_000): number {
  const limit = t + horizonMs;
  let cur = t;
  for (;;) {
    cur = earliestCommon(schedules, cur, limit - cur);
    if (cur > limit) return Infinity;
    if (spanMs <= 0) return cur;
    // Every schedule is open at cur: the common opening lasts until the first of them closes.
    let close = Infinity;
    for (const s of schedules) close = Math.min(close, s.next(cur).close);
    if (close > cur + spanMs) return cur;
    cur = close;
  }
}

/**
 * Local calendar days in a zone, for calendar-day caps (days are 23 to 25 hours long
 * across DST): a day runs from the first instant its date shows to the next day's.
 */
export class DayBoundaries {
  private readonly offsets: ZoneOffsets;
  // The last day looked up: consecutive slots mostly fall on the same day.
  private start = Infinity;
  private end = -Infinity;

  constructor(readonly zone: string) {
    this.offsets = zoneOffsets(zone);
  }

  /** Start of the local day containing `t`. */
  dayStart(t: number): number {
    this.locate(t);
    return this.start;
  }

  /** Start of the local day after the one containing `t`. */
  nextDayStart(t: number): number {
    this.locate(t);
    return this.end;
  }

  private locate(t: number): void {
    if (t >= this.start && t < this.end) return;
    let day = localMidnight(t + this.offsets.offsetAt(t));
    let start = this.offsets.firstAtOrAfterLocal(day);
    let end = this.offsets.firstAtOrAfterLocal(day + DAY);
    // A fall-back across midnight shows a date again after the next one began: keep days contiguous.
    while (start > t) {
      end = start;
      day -= DAY;
      start = this.offsets.firstAtOrAfterLocal(day);
    }
    while (end <= t) {
      start = end;
      day += DAY;
      end = this.offsets.firstAtOrAfterLocal(day + DAY);
    }
    this.start = start;
    this.end = end;
  }
}
