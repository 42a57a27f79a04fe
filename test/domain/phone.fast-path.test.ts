/**
 * normalizePhone works out a number's type with precompiled patterns instead of calling
 * isValid() and getType(). This pins that it decides exactly as the plain library calls do,
 * over generated input: US numbers in every spelling, numbers of every country (from the
 * library's example mobiles, with digits changed so that landlines, other types and invalid
 * numbers come up too) and garbage.
 */
import fc from 'fast-check';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import examples from 'libphonenumber-js/mobile/examples';
import { describe, expect, it } from 'vitest';
import { normalizePhone, type PhoneResult } from '../../src/domain/phone.ts';

/** normalizePhone as first written: isValid() then getType(), straight from the library. */
function reference(input: string, defaultRegion = 'US'): PhoneResult {
  const raw = (input ?? '').trim();
  if (!raw) return { ok: false, reason: 'phone is empty' };
  if (!/^[+\d\s().\-/]+(\s*(x|ext\.?)\s*\d+)?$/i.test(raw)) return { ok: false, reason: `"${truncate(raw)}" is not a phone number` };
  const parsed = parsePhoneNumberFromString(raw, defaultRegion as CountryCode);
  if (!parsed) return { ok: false, reason: `"${truncate(raw)}" is not a phone number` };
  if (!parsed.isValid()) return { ok: false, reason: `"${truncate(raw)}" is not a valid number in ${parsed.country ?? defaultRegion}` };
  if (parsed.getType() === 'FIXED_LINE') return { ok: false, reason: `"${truncate(raw)}" is a landline and cannot receive SMS` };
  return { ok: true, e164: parsed.number };
}
function truncate(s: string): string {
  return s.length > 40 ? s.slice(0, 40) + '…' : s;
}

const REGIONS = ['US', 'CA', 'GB', 'FR', 'DE', 'AU', 'IN', 'BR', 'MX', 'JP', 'IT', 'ES', 'NG', 'PR'];
const region = fc.constantFrom(...REGIONS);
const digits = (min: number, max: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((d) => d.join(''));

/** 10 NANPA digits spelled the ways customer files spell them. */
const usNumber = fc
  .tuple(digits(3, 3), digits(3, 3), digits(4, 4), fc.integer({ min: 0, max: 9 }), fc.constantFrom('', ' x12', ' ext. 7', 'x9'))
  .map(([a, e, l, shape, ext]) => {
    const spelled = [
      `${a}${e}${l}`,
      `(${a}) ${e}-${l}`,
      `${a}.${e}.${l}`,
      `${a}-${e}-${l}`,
      `+1 ${a} ${e} ${l}`,
      `1-${a}-${e}-${l}`,
      `1 (${a}) ${e}-${l}`,
      `+1${a}${e}${l}`,
      `1${a}${e}${l}`,
      `${a} ${e} ${l.slice(0, 2)} ${l.slice(2)}`,
    ][shape]!;
    return spelled + ext;
  });

/** Every country's example mobile with its tail replaced: valid mobiles, landlines, other types, invalid lengths. */
const exampleEntries = Object.entries(examples) as [CountryCode, string][];
const worldNumber = fc
  .tuple(fc.constantFrom(...exampleEntries), fc.nat(), digits(0, 9), fc.boolean(), fc.boolean())
  .map(([[country, national], cut, tail, international, spaced]) => {
    const kept = national.slice(0, cut % (national.length + 1));
    let n = kept + tail;
    if (spaced) n = n.replace(/(\d{3})(?=\d)/g, '$1 ');
    if (!international) return { input: n, region: country as string };
    const example = parsePhoneNumberFromString(national, country)!;
    return { input: `+${example.countryCallingCode} ${n}`, region: 'US' };
  });

/** Landline shapes of a few large countries, with random subscriber digits. */
const landline = fc
  .tuple(fc.constantFrom('+44 20 ', '+33 1 ', '+49 30 ', '+61 2 ', '+91 11 ', '+81 3 ', '+34 91 ', '+39 06 ', '+52 55 ', '+55 11 3', '+353 1 ', '+27 21 '), digits(6, 9))
  .map(([prefix, rest]) => prefix + rest);

const garbage = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'0123456789+-(). /xext#*abc'.split('')), maxLength: 24 }),
  fc.string({ maxLength: 20 }),
);

const runs = { numRuns: 4000 };

describe('normalizePhone fast path', () => {
  it('decides US numbers of every spelling exactly as isValid()/getType()', () => {
    fc.assert(fc.property(usNumber, region, (input, r) => {
          expect(normalizePhone(input, r)).toEqual(reference(input, r));
        }), runs);
  });

  it('decides numbers of every country exactly as isValid()/getType()', () => {
    fc.assert(fc.property(worldNumber, ({ input, region: r }) => {
          expect(normalizePhone(input, r)).toEqual(reference(input, r));
        }), { numRuns: 8000 });
  });

  it('refuses landlines exactly as getType() does', () => {
    let refused = 0;
    fc.assert(
      fc.property(landline, (input) => {
        const expected = reference(input);
        if (!expected.ok && /landline/.test(expected.reason)) refused++;
        expect(normalizePhone(input)).toEqual(expected);
      }),
      runs,
    );
    expect(refused).toBeGreaterThan(100); // the generator does produce landlines
  });

  it('treats garbage exactly as before', () => {
    fc.assert(fc.property(garbage, region, (input, r) => {
          expect(normalizePhone(input, r)).toEqual(reference(input, r));
        }), runs);
  });
});
