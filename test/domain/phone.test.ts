import { describe, expect, it } from 'vitest';
import { maskPhone, normalizePhone } from '../../src/domain/phone.ts';

describe('phone numbers', () => {
  it.each([
    ['(408) 555-0123', '+14085550123'],
    ['408.555.9711', '+14085559711'],
    ['+1 415 555 2671', '+14155552671'],
    ['1-415-555-2671', '+14155552671'],
    ['  4155552671  ', '+14155552671'],
    ['+44 7911 123456', '+447911123456'],
  ])('normalises %s to %s', (input, e164) => {
    expect(normalizePhone(input)).toEqual({ ok: true, e164 });
  });

  it('uses the default region for national numbers', () => {
    expect(normalizePhone('06 12 34 56 78', 'FR')).toEqual({ ok: true, e164: '+33612345678' });
    expect(normalizePhone('06 12 34 56 78', 'US').ok).toBe(false);
  });

  it.each([
    ['', /empty/],
    ['call me', /not a phone number/],
    ['123', /not a valid number/],
    ['+44 20 7183 8750', /landline/],
    ['=cmd|"/c calc"!A1', /not a phone number/],
  ])('refuses %j with a reason', (input, reason) => {
    const r = normalizePhone(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('masks the middle digits', () => {
    expect(maskPhone('+14085559711')).toBe('+1408***9711');
  });
});
