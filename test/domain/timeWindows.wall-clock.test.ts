/**
 * Window schedules are exactly the wall-clock rule, checked against luxon instant by instant
 * around DST changes: open when the zone's clock reads inside the window on a listed weekday
 * (the repeated fall-back hour twice, the skipped spring hour never), and local days run
 * from one midnight (or the first instant after a skipped one) to the next.
 */
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { TimeWindow } from '../../src/config.ts';
import { DayBoundaries, WindowSchedule } from '../../src/domain/timeWindows.ts';

const ZONES = [
  'America/New_York', 'America/Los_Angeles', 'Europe/London', 'Australia/Sydney', 'Australia/Lord_Howe', 'America/Santiago',
  'America/St_Johns', 'Asia/Kolkata', 'Asia/Kathmandu', 'Australia/Adelaide', 'Pacific/Honolulu',
];
// 2025 DST changes of those zones (UTC instants).
const CHANGES = [
  '2025-03-09T07:00:00Z', '2025-11-02T06:00:00Z', '2025-03-09T10:00:00Z', '2025-11-02T09:00:00Z', '2025-03-30T01:00:00Z',
  '2025-10-26T01:00:00Z', '2025-04-05T16:00:00Z', '2025-10-04T16:00:00Z', '2025-04-05T15:00:00Z', '2025-10-04T15:30:00Z',
  '2025-04-06T03:00:00Z', '2025-09-07T04:00:00Z', '2025-03-09T05:30:00Z', '2025-11-02T04:30:00Z', '2025-04-05T16:30:00Z',
].map((s) => Date.parse(s));

const minute = fc.oneof(fc.integer({ min: 0, max: 1439 }), fc.constantFrom(0, 1, 1439, 60, 90, 120, 150, 180, 1410));
const windowArb: fc.Arbitrary<TimeWindow> = fc
  .tuple(minute, minute)
  .filter(([a, b]) => a !== b)
  .map(([start, end]) => ({ start, end }));
// Any millisecond within two days of a DST change.
const instantArb = fc.tuple(fc.constantFrom(...CHANGES), fc.integer({ min: -2 * 86_400_000, max: 2 * 86_400_000 })).map(([c, d]) => c + d);

/** The wall-clock rule, from luxon alone. */
function inside(t: number, zone: string, w: TimeWindow, days: readonly number[]): boolean {
  const local = DateTime.fromMillis(t, { zone });
  const m = local.hour * 60 + local.minute + local.second / 60;
  const prevDay = local.minus({ days: 1 }).weekday;
  if (w.start < w.end) return days.includes(local.weekday) && m >= w.start && m < w.end;
  return (m >= w.start && days.includes(local.weekday)) || (m < w.end && days.includes(prevDay));
}

describe('window schedules follow the wall clock exactly', () => {
  it('contains(t) is true exactly when the clock reads inside the window, around every DST change', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        windowArb,
        fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 7 }),
        fc.array(instantArb, { minLength: 1, maxLength: 20 }),
        (zone, w, days, instants) => {
          const s = new WindowSchedule(zone, w, days);
          for (const t of instants) expect(s.contains(t), `${DateTime.fromMillis(t, { zone }).toISO()}`).toBe(inside(t, zone, w, days));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('next(t) is an interval that is open throughout and closed just before it opens', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), windowArb, instantArb, (zone, w, t) => {
        const iv = new WindowSchedule(zone, w).next(t);
        expect(iv.close).toBeGreaterThan(t);
        expect(inside(iv.open, zone, w, [1, 2, 3, 4, 5, 6, 7])).toBe(true);
        expect(inside(iv.close - 1000, zone, w, [1, 2, 3, 4, 5, 6, 7])).toBe(true);
        expect(inside(iv.close, zone, w, [1, 2, 3, 4, 5, 6, 7])).toBe(false);
        if (iv.open > t) expect(inside(iv.open - 1000, zone, w, [1, 2, 3, 4, 5, 6, 7])).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('the repeated fall-back hour: 01:30-00:00 in New York is closed while the clock reads 01:00-01:30 the second time', () => {
    const s = new WindowSchedule('America/New_York', { start: 90, end: 0 });
    expect(s.next(Date.parse('2025-11-02T05:45:00Z'))).toEqual({ open: Date.parse('2025-11-02T05:30:00Z'), close: Date.parse('2025-11-02T06:00:00Z') });
    expect(s.next(Date.parse('2025-11-02T06:00:00Z'))).toEqual({ open: Date.parse('2025-11-02T06:30:00Z'), close: Date.parse('2025-11-03T05:00:00Z') });
  });

  it('the skipped spring hour: an edge at 02:30 falls at 03:00 EDT', () => {
    const s = new WindowSchedule('America/New_York', { start: 150, end: 1200 });
    expect(s.next(Date.parse('2025-03-09T05:00:00Z')).open).toBe(Date.parse('2025-03-09T07:00:00Z'));
  });

  it('half-hour DST (Lord Howe): a window from 02:00 opens at 02:30 on the spring day', () => {
    const s = new WindowSchedule('Australia/Lord_Howe', { start: 120, end: 240 });
    // 2025-10-05 02:00 LHST (+10:30) = 2025-10-04T15:30Z becomes 02:30 LHDT (+11).
    expect(s.next(Date.parse('2025-10-04T12:00:00Z')).open).toBe(Date.parse('2025-10-04T15:30:00Z'));
    expect(DateTime.fromMillis(Date.parse('2025-10-04T15:30:00Z'), { zone: 'Australia/Lord_Howe' }).toFormat('HH:mm')).toBe('02:30');
  });

  it('local days match luxon, including days of 23, 23.5, 24.5 and 25 hours and a skipped midnight', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), fc.array(instantArb, { minLength: 1, maxLength: 20 }), (zone, instants) => {
        const days = new DayBoundaries(zone);
        for (const t of instants) {
          const start = DateTime.fromMillis(t, { zone }).startOf('day');
          expect(days.dayStart(t)).toBe(start.toMillis());
          expect(days.nextDayStart(t)).toBe(start.plus({ days: 1 }).startOf('day').toMillis());
        }
      }),
      { numRuns: 200 },
    );
  });
});
