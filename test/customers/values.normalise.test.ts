import { describe, expect, it } from 'vitest';
import { detectColumns } from '../../src/customers/columns.ts';
import { createRowParser, mergeRows } from '../../src/customers/parseRow.ts';
import { sanitizeText } from '../../src/customers/text.ts';
import { normalizeState, parseConsent, parseCount, parseDate, parseMoney, parseTimezone } from '../../src/customers/values.ts';

const LATEST = '2026-11-24';

describe('customer value normalisation', () => {
  it.each([
    ['2025-03-07', '2025-03-07'], ['2025-3-7', '2025-03-07'], ['2025-03-07T22:15:00Z', '2025-03-07'], ['2025/03/07', '2025-03-07'],
    ['3/7/2025', '2025-03-07'], ['03/07/2025', '2025-03-07'], ['3-7-25', '2025-03-07'], ['3/7/2025 14:05', '2025-03-07'],
    ['Mar 7, 2025', '2025-03-07'], ['March 7, 2025', '2025-03-07'], ['7 Mar 2025', '2025-03-07'], ['12/31/99', '1999-12-31'],
  ])('date %s -> %s', (input, iso) => {
    expect(parseDate(input, LATEST)).toEqual({ ok: true, value: iso });
  });

  it.each([
    ['2/30/2025', 'not a real calendar date'], ['13/1/2025', 'not a real calendar date'], ['yesterday', 'not a date'],
    ['2027-01-01', 'in the future'], ['1/1/1850', 'before 1900'],
  ])('date %s is refused (%s)', (input, why) => {
    const r = parseDate(input, LATEST);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toContain(why);
  });

  it.each([
    ['$1,234.50', '1234.50'], ['1234.5', '1234.50'], ['USD 20', '20.00'], ['€1.234,50', '1234.50'], ['12,5', '12.50'],
    ['1,000,000', '1000000.00'], [' $ 7 ', '7.00'],
  ])('money %s -> %s', (input, value) => {
    expect(parseMoney(input)).toEqual({ ok: true, value });
  });

  it.each(['-5', '($12.00)', 'twelve', '1e12', '$99999999999'])('money %s is refused', (input) => {
    expect(parseMoney(input).ok).toBe(false);
  });

  it('counts are whole numbers of zero or more', () => {
    expect(parseCount('1,204')).toEqual({ ok: true, value: 1204 });
    expect(parseCount('12.0')).toEqual({ ok: true, value: 12 });
    expect(parseCount('-1').ok).toBe(false);
    expect(parseCount('2.5').ok).toBe(false);
    expect(parseCount('99999999999').ok).toBe(false);
  });

  it('consent: stated yes/no values map, empty and "unknown" say nothing, anything else is refused', () => {
    for (const v of ['yes', 'Y', 'TRUE', '1', 'opted_in', 'Opted In', 'subscribed']) expect(parseConsent(v)).toEqual({ ok: true, value: 'opted_in' });
    for (const v of ['no', 'N', 'false', '0', 'denied', 'opted out', 'unsubscribed']) expect(parseConsent(v)).toEqual({ ok: true, value: 'denied' });
    for (const v of ['', 'unknown', 'N/A']) expect(parseConsent(v)).toEqual({ ok: true, value: null });
    expect(parseConsent('maybe').ok).toBe(false);
  });

  it('time zones: IANA names and common US names', () => {
    expect(parseTimezone('America/Chicago')).toEqual({ ok: true, value: 'America/Chicago' });
    expect(parseTimezone('Eastern')).toEqual({ ok: true, value: 'America/New_York' });
    expect(parseTimezone('PST')).toEqual({ ok: true, value: 'America/Los_Angeles' });
    expect(parseTimezone('Central Time')).toEqual({ ok: true, value: 'America/Chicago' });
    expect(parseTimezone('Mars/Olympus').ok).toBe(false);
  });

  it('US states become two-letter codes; other regions stay as written', () => {
    expect(normalizeState('Florida')).toBe('FL');
    expect(normalizeState('ok')).toBe('OK');
    expect(normalizeState('New York')).toBe('NY');
    expect(normalizeState('Ontario')).toBe('Ontario');
  });

  it('text loses control characters, bidi overrides and invisible characters', () => {
    expect(sanitizeText('Ana\u0000 \u0007Ruiz')).toBe('Ana Ruiz');
    expect(sanitizeText('\u202Eevil\u202C name')).toBe('evil name');
    expect(sanitizeText('Zo\u200Be\u2066 \u2069Lee\r\nJr.')).toBe('Zoe Lee Jr.');
    expect(sanitizeText('Cafe\u0301')).toBe('Café');
  });

  it('a row joins first and last name, and a later duplicate row wins field by field', () => {
    const parse = createRowParser(detectColumns(['First Name', 'Last Name', 'Cell', 'Visits', 'Tier']), { phoneRegion: 'US', latestDate: LATEST });
    const a = parse(['Ana', 'Ruiz', '(415) 555-0132', '3', 'gold']);
    const b = parse(['', '', '415.555.0132', '4', '']);
    expect(a.ok && b.ok).toBe(true);
    if (!a.ok || !b.ok) return;
    expect(a.row).toMatchObject({ name: 'Ana Ruiz', phone: '+14155550132', visits: 3, attributes: { Tier: 'gold' } });
    expect(mergeRows(a.row, b.row)).toMatchObject({ name: 'Ana Ruiz', visits: 4, attributes: { Tier: 'gold' } });
  });

  it('a refused row names every bad field', () => {
    const parse = createRowParser(detectColumns(['phone', 'last_visit', 'visits']), { phoneRegion: 'US', latestDate: LATEST });
    const r = parse(['555-1234', 'soon', '-2']);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/^phone: .*not a valid number.*; last_visit: "soon" is not a date.*; visits: "-2"/);
  });
});
