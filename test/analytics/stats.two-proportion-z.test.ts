import { describe, expect, it } from 'vitest';
import { checkSampleSize, erfc, twoProportionZTest } from '../../src/analytics/stats.ts';

describe('two-proportion z-test against hand calculations', () => {
  it('equal arms: 20/200 vs 36/200', () => {
    // pooled p = 56/400 = 0.14; SE = sqrt(0.14 * 0.86 * (1/200 + 1/200)) = sqrt(0.001204) = 0.0346987
    // z = (0.18 - 0.10) / 0.0346987 = 2.30556; p = 2 * (1 - Phi(2.30556)) = 2 * 0.010568 = 0.021135
    const t = twoProportionZTest({ n: 200, x: 20 }, { n: 200, x: 36 });
    expect(t.z).toBeCloseTo(2.30556, 4);
    expect(t.pValue).toBeCloseTo(0.021135, 5);
  });

  it('unequal arms: 10/100 vs 15/50, and the sign follows the direction', () => {
    // pooled p = 25/150 = 1/6; SE = sqrt(1/6 * 5/6 * (1/100 + 1/50)) = sqrt(0.0041667) = 0.0645497
    // z = (0.30 - 0.10) / 0.0645497 = 3.09839; p = 2 * (1 - Phi(3.09839)) = 0.0019458
    const t = twoProportionZTest({ n: 100, x: 10 }, { n: 50, x: 15 });
    expect(t.z).toBeCloseTo(3.09839, 4);
    expect(t.pValue).toBeCloseTo(0.0019458, 6);
    const reversed = twoProportionZTest({ n: 50, x: 15 }, { n: 100, x: 10 });
    expect(reversed.z).toBeCloseTo(-3.09839, 4);
    expect(reversed.pValue).toBeCloseTo(t.pValue, 12);
  });

  it('identical rates give z = 0, p = 1; no variance at all too', () => {
    expect(twoProportionZTest({ n: 100, x: 10 }, { n: 300, x: 30 })).toEqual({ z: 0, pValue: 1 });
    expect(twoProportionZTest({ n: 100, x: 0 }, { n: 100, x: 0 })).toEqual({ z: 0, pValue: 1 });
  });

  it('erfc matches known values', () => {
    expect(erfc(0)).toBeCloseTo(1, 7);
    expect(erfc(1)).toBeCloseTo(0.157299207, 7);
    expect(erfc(1.959964 / Math.SQRT2)).toBeCloseTo(0.05, 6);
    expect(erfc(-1)).toBeCloseTo(1.842700793, 7);
  });
});

describe('the small-sample guard', () => {
  it('wants at least 30 per arm', () => {
    expect(checkSampleSize({ n: 29, x: 10 }, { n: 100, x: 50 })).toEqual({ ok: false, reason: 'need at least 30 sent per variant (smallest has 29)' });
    expect(checkSampleSize({ n: 30, x: 10 }, { n: 30, x: 15 })).toEqual({ ok: true });
  });

  it('wants at least 5 expected successes and failures per arm under the pooled rate', () => {
    // pooled 3/60 = 0.05: 1.5 expected per arm.
    expect(checkSampleSize({ n: 30, x: 1 }, { n: 30, x: 2 })).toMatchObject({ ok: false, reason: expect.stringMatching(/5 expected events.*1\.5/) });
    // pooled 10/200 = 0.05: 5 expected per arm, just enough.
    expect(checkSampleSize({ n: 100, x: 4 }, { n: 100, x: 6 })).toEqual({ ok: true });
    // Nearly everyone responds: too few expected failures.
    expect(checkSampleSize({ n: 40, x: 39 }, { n: 40, x: 38 }).ok).toBe(false);
  });
});
