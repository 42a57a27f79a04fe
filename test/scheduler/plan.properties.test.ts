/**
 * The planner's guarantees, checked with fast-check against an independent luxon check:
 * never outside business hours or the recipient's window, from a message's first bubble to
 * its last (windows that cross midnight, both DST change days), gaps within bounds, caps
 * never exceeded, deterministic.
 */
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { TimeWindow } from '../../src/config.ts';
import { planSlots, type PlanInput, type PlanSettings } from '../../src/scheduler/plan.ts';

// Whole-hour, half-hour (Kolkata, Adelaide, St John's), 45-minute (Kathmandu) offsets; DST
// at 02:00 (US), 01:00 UTC (EU), a 30-minute DST shift (Lord Howe), DST at midnight (Santiago).
const ZONES = [
  'America/New_York', 'America/Chicago', 'America/Los_Angeles', 'Pacific/Honolulu', 'Europe/London', 'Australia/Sydney',
  'Asia/Kolkata', 'Australia/Adelaide', 'America/St_Johns', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'America/Santiago',
];
// DST change days (US, EU, Australia, Lord Howe, Chile), instants inside the repeated
// fall-back hour and just before the skipped spring hour, and ordinary days, as start points.
const STARTS = [
  '2025-03-08T20:00:00Z', '2025-03-09T05:00:00Z', '2025-03-09T06:59:00Z', '2025-03-30T00:30:00Z', '2025-04-05T12:00:00Z',
  '2025-04-05T14:45:00Z', '2025-09-06T03:30:00Z', '2025-10-04T13:00:00Z', '2025-10-26T00:00:00Z', '2025-10-26T01:20:00Z',
  '2025-11-01T22:00:00Z', '2025-11-02T05:30:00Z', '2025-11-02T06:15:00Z', '2025-11-02T06:30:00Z', '2025-07-15T16:42:13Z',
].map((s) => Date.parse(s));

// Window edges on the half hour (including the hours DST skips or repeats), plus the
// awkward ones: 23:59, a minute past midnight, 00:00 (a window that ends at midnight),
// and edges inside the skipped/repeated hours off the half hour.
const edge = fc.oneof(
  fc.integer({ min: 0, max: 47 }).map((h) => h * 30),
  fc.constantFrom(0, 1, 1439, 60, 75, 90, 105, 120, 135, 150, 165),
);
const windowArb: fc.Arbitrary<TimeWindow> = fc
  .tuple(edge, edge)
  .filter(([a, b]) => a !== b)
  .map(([start, end]) => ({ start, end }));

const settingsArb: fc.Arbitrary<PlanSettings> = fc
  .record({
    timezone: fc.constantFrom(...ZONES),
    businessHours: windowArb,
    businessDays: fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 7 }),
    gapMin: fc.integer({ min: 0, max: 600 }),
    gapSpread: fc.integer({ min: 0, max: 600 }),
    skipProbability: fc.double({ min: 0, max: 1, noNaN: true }),
    skipMin: fc.integer({ min: 0, max: 1200 }),
    skipSpread: fc.integer({ min: 0, max: 600 }),
    ratePerMinute: fc.integer({ min: 1, max: 6 }),
    ratePerHour: fc.integer({ min: 1, max: 120 }),
    ratePerDay: fc.integer({ min: 1, max: 300 }),
  })
  .map((r) => ({
    timezone: r.timezone,
    businessHours: r.businessHours,
    businessDays: r.businessDays,
    gapMinSeconds: r.gapMin,
    gapMaxSeconds: r.gapMin + r.gapSpread,
    skipProbability: r.skipProbability,
    skipMinSeconds: r.skipMin,
    skipMaxSeconds: r.skipMin + r.skipSpread,
    ratePerMinute: r.ratePerMinute,
    ratePerHour: r.ratePerHour,
    ratePerDay: r.ratePerDay,
  }));

// One SMS, a few bubbles seconds apart, or (rarely) bubbles spread over hours, so that some
// openings are too short for them.
const spanArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }).map((n) => n * 3_000) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 180 }).map((m) => m * 60_000) },
);

const inputArb: fc.Arbitrary<PlanInput> = fc.record({
  settings: settingsArb,
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  // A start point, or up to a day and a half either side of one (to the minute).
  notBefore: fc.oneof(fc.constantFrom(...STARTS), fc.tuple(fc.constantFrom(...STARTS), fc.integer({ min: -2160, max: 2160 })).map(([t, m]) => t + m * 60_000)),
  items: fc
    .array(fc.record({ recipient: fc.array(fc.record({ zone: fc.constantFrom(...ZONES), window: windowArb }), { maxLength: 2 }), spanMs: spanArb }), {
      minLength: 1,
      maxLength: 25,
    })
    .map((rs) => rs.map((r, i) => ({ id: i + 1, ...r }))),
});

/** Independent of the planner's interval machinery: wall-clock minutes and weekdays from luxon. */
function inside(t: number, zone: string, w: TimeWindow, days: readonly number[] = [1, 2, 3, 4, 5, 6, 7]): boolean {
  const local = DateTime.fromMillis(t, { zone });
  const m = local.hour * 60 + local.minute + local.second / 60;
  const prevDay = local.minus({ days: 1 }).weekday;
  if (w.start < w.end) return days.includes(local.weekday) && m >= w.start && m < w.end;
  return (m >= w.start && days.includes(local.weekday)) || (m < w.end && days.includes(prevDay));
}

/** Instants from a slot to its last bubble: both ends and every minute between (windows open and close on whole minutes). */
function spanInstants(at: number, spanMs: number): number[] {
  const out = [at];
  for (let t = Math.ceil(at / 60_000) * 60_000; t < at + spanMs; t += 60_000) out.push(t);
  if (spanMs > 0) out.push(at + spanMs);
  return out;
}

describe('planner properties', () => {
  it('never plans outside business hours or any recipient window, from the first bubble to the last', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const { slots } = planSlots(input);
        const byId = new Map(input.items.map((i) => [i.id, i]));
        const st = input.settings;
        for (const s of slots) {
          const item = byId.get(s.id)!;
          for (const t of spanInstants(s.at, item.spanMs ?? 0)) {
            if (!inside(t, st.timezone, st.businessHours, st.businessDays)) return false;
            for (const r of item.recipient) if (!inside(t, r.zone, r.window)) return false;
          }
          if (s.at < input.notBefore) return false;
        }
        return true;
      }),
      { numRuns: 80 },
    );
  });

  it('says a message is too long for its windows only when they do meet, and a single SMS never is', () => {
    let seen = 0;
    fc.assert(
      fc.property(inputArb, (input) => {
        const { unplaceable, tooShort } = planSlots(input);
        if (tooShort.length) seen++;
        for (const id of tooShort) {
          const item = input.items.find((i) => i.id === id)!;
          expect(unplaceable).toContain(id);
          expect(item.spanMs).toBeGreaterThan(0);
          // Alone and without bubbles, the same message finds a slot.
          const single = planSlots({ ...input, history: [], items: [{ ...item, spanMs: 0 }] });
          expect(single.slots).toHaveLength(1);
        }
      }),
      { numRuns: 100 },
    );
    // About one input in eight has such a message: the property was exercised, not vacuous.
    expect(seen).toBeGreaterThan(0);
  });

  it('places every message exactly once or reports it unplaceable', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const { slots, unplaceable } = planSlots(input);
        const ids = [...slots.map((s) => s.id), ...unplaceable].sort((a, b) => a - b);
        expect(ids).toEqual(input.items.map((i) => i.id));
      }),
      { numRuns: 60 },
    );
  });

  it('keeps gaps within bounds: at least gapMin, at most gapMax (+ skipMax for a pause) unless a window or cap pushed it', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const { slots } = planSlots(input);
        const s = input.settings;
        for (let i = 1; i < slots.length; i++) {
          const gap = (slots[i]!.at - slots[i - 1]!.at) / 1000;
          if (gap < s.gapMinSeconds) return false;
          if (slots[i]!.reason === 'gap' && gap > s.gapMaxSeconds) return false;
          if (slots[i]!.reason === 'pause' && gap > s.gapMaxSeconds + s.skipMaxSeconds) return false;
        }
        return true;
      }),
      { numRuns: 80 },
    );
  });

  it('never exceeds the per-minute, per-hour and per-day caps, counting the history', () => {
    fc.assert(
      fc.property(inputArb, fc.array(fc.integer({ min: 1, max: 86_400 }), { maxLength: 30 }), (input, agoSeconds) => {
        const history = agoSeconds.map((a) => input.notBefore - a * 1000).sort((a, b) => a - b);
        const fast = { ...input, history, settings: { ...input.settings, gapMinSeconds: 0, gapMaxSeconds: 5 } };
        const { slots } = planSlots(fast);
        const all = [...history, ...slots.map((x) => x.at)];
        const s = fast.settings;
        for (const x of slots) {
          const t = x.at;
          const minute = all.filter((y) => y <= t && t - y < 60_000).length;
          const hour = all.filter((y) => y <= t && t - y < 3_600_000).length;
          const day = DateTime.fromMillis(t, { zone: s.timezone }).toISODate();
          const sameDay = all.filter((y) => y <= t && DateTime.fromMillis(y, { zone: s.timezone }).toISODate() === day).length;
          if (minute > s.ratePerMinute || hour > s.ratePerHour || sameDay > s.ratePerDay) return false;
        }
        return true;
      }),
      { numRuns: 50 },
    );
  });

  it('is deterministic given the seed, and the seed matters', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        expect(planSlots(input)).toEqual(planSlots(input));
      }),
      { numRuns: 50 },
    );
    const base: PlanInput = {
      settings: {
        timezone: 'America/Los_Angeles', businessHours: { start: 540, end: 1200 }, businessDays: [1, 2, 3, 4, 5, 6],
        gapMinSeconds: 240, gapMaxSeconds: 420, skipProbability: 0.175, skipMinSeconds: 600, skipMaxSeconds: 900,
        ratePerMinute: 5, ratePerHour: 100, ratePerDay: 250,
      },
      seed: 1,
      notBefore: Date.parse('2025-07-15T16:00:00Z'),
      items: Array.from({ length: 20 }, (_, i) => ({ id: i + 1, recipient: [] })),
    };
    expect(planSlots(base).slots.map((s) => s.at)).not.toEqual(planSlots({ ...base, seed: 2 }).slots.map((s) => s.at));
  });
});

describe('planner examples', () => {
  const la: PlanSettings = {
    timezone: 'America/Los_Angeles', businessHours: { start: 540, end: 1200 }, businessDays: [1, 2, 3, 4, 5, 6, 7],
    gapMinSeconds: 240, gapMaxSeconds: 420, skipProbability: 0, skipMinSeconds: 600, skipMaxSeconds: 900,
    ratePerMinute: 5, ratePerHour: 100, ratePerDay: 250,
  };

  it('opens at 09:00 local on both DST change days (PDT on the spring day, PST on the fall day)', () => {
    const spring = planSlots({ settings: la, seed: 1, notBefore: Date.parse('2025-03-09T08:00:00Z'), items: [{ id: 1, recipient: [] }] });
    expect(new Date(spring.slots[0]!.at).toISOString()).toBe('2025-03-09T16:00:00.000Z');
    const fall = planSlots({ settings: la, seed: 1, notBefore: Date.parse('2025-11-02T08:00:00Z'), items: [{ id: 1, recipient: [] }] });
    expect(new Date(fall.slots[0]!.at).toISOString()).toBe('2025-11-02T17:00:00.000Z');
  });

  it('keeps out of the repeated fall-back hour when a quiet window opens inside it (found by the property test)', () => {
    // Business hours 20:00-00:00 Saturdays in Honolulu = 06:00-10:00Z on 2025-11-02, when New
    // York falls back at 06:00Z: its clock reads 01:00-01:30 again, inside the quiet hours
    // 00:00-01:30, until 06:30Z.
    const settings: PlanSettings = {
      ...la, timezone: 'Pacific/Honolulu', businessHours: { start: 1200, end: 0 }, businessDays: [6], gapMinSeconds: 0, gapMaxSeconds: 10,
    };
    const ny = { zone: 'America/New_York', window: { start: 90, end: 0 } };
    const r = planSlots({
      settings, seed: 1, notBefore: Date.parse('2025-11-01T22:00:00Z'),
      items: Array.from({ length: 5 }, (_, i) => ({ id: i + 1, recipient: [ny] })),
    });
    expect(r.slots).toHaveLength(5);
    expect(new Date(r.slots[0]!.at).toISOString()).toBe('2025-11-02T06:30:00.000Z');
    for (const s of r.slots) {
      const local = DateTime.fromMillis(s.at, { zone: 'America/New_York' });
      expect(local.hour * 60 + local.minute).toBeGreaterThanOrEqual(90);
    }
  });

  it('opens and closes at the first instant the clock reads past an edge in the skipped spring hour', () => {
    const ny = (start: number, end: number) => [{ zone: 'America/New_York', window: { start, end } }];
    const always: PlanSettings = { ...la, businessHours: { start: 0, end: 0 } };
    // 02:30 does not exist on 2025-03-09 in New York: the clock jumps from 01:59:59 EST to 03:00 EDT (07:00Z).
    const opens = planSlots({ settings: always, seed: 1, notBefore: Date.parse('2025-03-09T05:00:00Z'), items: [{ id: 1, recipient: ny(150, 1200) }] });
    expect(new Date(opens.slots[0]!.at).toISOString()).toBe('2025-03-09T07:00:00.000Z');
    // A window that ends at 02:30 is over at the jump: nothing from 07:00Z until 22:00 EDT.
    const closes = planSlots({ settings: always, seed: 1, notBefore: Date.parse('2025-03-09T07:00:00Z'), items: [{ id: 1, recipient: ny(1320, 150) }] });
    expect(new Date(closes.slots[0]!.at).toISOString()).toBe('2025-03-10T02:00:00.000Z');
  });

  it("lets an east-coast recipient go first while a Hawaii recipient's morning has not started", () => {
    const ny = { zone: 'America/New_York', window: { start: 480, end: 1260 } };
    const hi = { zone: 'Pacific/Honolulu', window: { start: 480, end: 1260 } };
    // 09:00 in Los Angeles = 06:00 in Honolulu.
    const r = planSlots({
      settings: la, seed: 3, notBefore: Date.parse('2025-07-15T16:00:00Z'),
      items: [{ id: 1, recipient: [hi] }, { id: 2, recipient: [ny] }],
    });
    expect(r.slots.map((s) => s.id)).toEqual([2, 1]);
    expect(DateTime.fromMillis(r.slots[1]!.at, { zone: 'Pacific/Honolulu' }).hour).toBeGreaterThanOrEqual(8);
  });

  it('reports a recipient whose window never meets business hours as unplaceable', () => {
    const r = planSlots({
      settings: { ...la, businessHours: { start: 540, end: 600 } },
      seed: 3,
      notBefore: Date.parse('2025-07-15T16:00:00Z'),
      items: [{ id: 1, recipient: [{ zone: 'Asia/Tokyo', window: { start: 480, end: 1260 } }] }],
    });
    expect(r).toEqual({ slots: [], unplaceable: [1], tooShort: [] });
  });

  it('leaves room before the window closes for the last bubble, and moves the message to the next opening when there is none', () => {
    const settings = { ...la, gapMinSeconds: 0, gapMaxSeconds: 0 };
    // 19:59:50 in Los Angeles: one SMS still fits before 20:00, four bubbles 3 s apart do not (the last would go at 20:00:00).
    const notBefore = Date.parse('2025-07-16T02:59:50Z');
    const one = planSlots({ settings, seed: 1, notBefore, items: [{ id: 1, recipient: [] }] });
    expect(new Date(one.slots[0]!.at).toISOString()).toBe('2025-07-16T02:59:50.000Z');
    const fits = planSlots({ settings, seed: 1, notBefore, items: [{ id: 1, recipient: [], spanMs: 9_000 }] });
    expect(new Date(fits.slots[0]!.at).toISOString()).toBe('2025-07-16T02:59:50.000Z');
    const four = planSlots({ settings, seed: 1, notBefore, items: [{ id: 1, recipient: [], spanMs: 10_000 }] });
    expect(new Date(four.slots[0]!.at).toISOString()).toBe('2025-07-16T16:00:00.000Z');
    expect(four.slots[0]!.reason).toBe('window');
  });

  it('keeps a single SMS going while a message whose bubbles do not fit waits for the next opening', () => {
    const settings = { ...la, gapMinSeconds: 0, gapMaxSeconds: 0 };
    const notBefore = Date.parse('2025-07-16T02:59:50Z');
    const r = planSlots({ settings, seed: 1, notBefore, items: [{ id: 1, recipient: [], spanMs: 30_000 }, { id: 2, recipient: [] }] });
    expect(r.slots.map((s) => [s.id, new Date(s.at).toISOString()])).toEqual([
      [2, '2025-07-16T02:59:50.000Z'],
      [1, '2025-07-16T16:00:00.000Z'],
    ]);
  });

  it('reports bubbles that no opening is long enough for as too short, apart from windows that never meet', () => {
    const r = planSlots({
      settings: { ...la, businessHours: { start: 540, end: 541 } },
      seed: 3,
      notBefore: Date.parse('2025-07-15T16:00:00Z'),
      items: [
        { id: 1, recipient: [], spanMs: 90_000 },
        { id: 2, recipient: [], spanMs: 30_000 },
        { id: 3, recipient: [{ zone: 'Asia/Tokyo', window: { start: 480, end: 1260 } }], spanMs: 90_000 },
      ],
    });
    expect(r.slots.map((s) => s.id)).toEqual([2]);
    expect(r.unplaceable.sort()).toEqual([1, 3]);
    expect(r.tooShort).toEqual([1]);
  });

  it('plans 100k approvals in well under a second', () => {
    const zones = ['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles'];
    const items = Array.from({ length: 100_000 }, (_, i) => ({ id: i + 1, recipient: [{ zone: zones[i % 4]!, window: { start: 480, end: 1260 } }] }));
    const settings = { ...la, gapMinSeconds: 1, gapMaxSeconds: 3, ratePerMinute: 1000, ratePerHour: 100_000, ratePerDay: 1_000_000 };
    planSlots({ settings, seed: 1, notBefore: Date.parse('2025-07-15T16:00:00Z'), items: items.slice(0, 1000) });
    const r = planSlots({ settings, seed: 1, notBefore: Date.parse('2025-07-15T16:00:00Z'), items });
    expect(r.slots).toHaveLength(100_000);
  });
});
