import fc from 'fast-check';
import { SegmentedMessage } from 'sms-segments-calculator';
import { describe, expect, it } from 'vitest';
import { analyzeSms } from '../../src/domain/smsSegments.ts';

const gsm = (n: number) => 'a'.repeat(n);
const ucs = (n: number) => 'ж'.repeat(n);

describe('SMS encoding and segments', () => {
  it.each([
    [gsm(160), 'GSM-7', 1],
    [gsm(161), 'GSM-7', 2],
    [gsm(306), 'GSM-7', 2],
    [gsm(307), 'GSM-7', 3],
    [ucs(70), 'UCS-2', 1],
    [ucs(71), 'UCS-2', 2],
    [ucs(134), 'UCS-2', 2],
    [ucs(135), 'UCS-2', 3],
    ['', 'GSM-7', 0],
  ])('%#: boundaries (%s chars)', (text, encoding, segments) => {
    expect(analyzeSms(text)).toMatchObject({ encoding, segments });
  });

  it('counts 153 and 67 per segment of a long message', () => {
    expect(analyzeSms(gsm(153 * 2)).segments).toBe(2);
    expect(analyzeSms(gsm(153 * 2 + 1)).segments).toBe(3);
    expect(analyzeSms(ucs(67 * 2)).segments).toBe(2);
    expect(analyzeSms(ucs(67 * 2 + 1)).segments).toBe(3);
  });

  it('counts extension characters as two septets', () => {
    expect(analyzeSms('€'.repeat(80))).toMatchObject({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(analyzeSms('€'.repeat(80) + 'a')).toMatchObject({ encoding: 'GSM-7', units: 161, segments: 2 });
    expect(analyzeSms('a' + '[]{}'.repeat(40))).toMatchObject({ units: 321 });
  });

  it('never splits an extension character across segments', () => {
    // 152 basic + one 2-septet char: the escape would straddle the 153 boundary, so it moves on.
    expect(analyzeSms(gsm(152) + '€' + gsm(152)).segments).toBe(3);
  });

  it('lets one emoji force UCS-2 and counts its surrogate pair as two units', () => {
    const r = analyzeSms('See you soon 😀');
    expect(r).toMatchObject({ encoding: 'UCS-2', units: 15, nonGsmChars: ['😀'] });
    expect(analyzeSms('😀'.repeat(35)).segments).toBe(1);
    expect(analyzeSms('😀'.repeat(36)).segments).toBe(2);
  });

  it('names the characters that forced UCS-2 (a curly quote is a classic)', () => {
    expect(analyzeSms('We’ve missed you').nonGsmChars).toEqual(['’']);
  });

  it('agrees with Twilio’s sms-segments-calculator on random texts', () => {
    const alphabet = fc.constantFrom(...'aZ0 @£$é€[]{}^~|\\\n.,!?’ж😀ñÇ'.split(/(?:)/u));
    fc.assert(
      fc.property(fc.array(alphabet, { minLength: 1, maxLength: 400 }), (chars) => {
        const text = chars.join('');
        const ours = analyzeSms(text);
        const theirs = new SegmentedMessage(text, 'auto', false);
        expect(ours.segments).toBe(theirs.segmentsCount);
        expect(ours.encoding).toBe(theirs.encodingName);
      }),
      { numRuns: 400 },
    );
  });
});
