/**
 * The significance test behind variant comparisons: a two-sided two-proportion z-test
 * with a pooled standard error, and the sample-size guard that keeps us from calling a
 * winner on a handful of messages.
 */

/** Below these, a comparison reports "not enough data" instead of a p-value. */
export const MIN_ARM_SIZE = 30;
export const MIN_EXPECTED_COUNT = 5;

export interface ProportionTest {
  /** (rateB - rateA) / pooled standard error; positive when B is higher. */
  z: number;
  /** Two-sided p-value. */
  pValue: number;
}

export type SampleCheck = { ok: true } | { ok: false; reason: string };

/**
 * Whether two arms are large enough for the normal approximation: at least MIN_ARM_SIZE
 * per arm, and under the pooled rate at least MIN_EXPECTED_COUNT expected successes AND
 * failures in each arm (the textbook np >= 5, n(1-p) >= 5 rule).
 */
export function checkSampleSize(a: { n: number; x: number }, b: { n: number; x: number }): SampleCheck {
  const smallest = Math.min(a.n, b.n);
  if (smallest < MIN_ARM_SIZE) return { ok: false, reason: `need at least ${MIN_ARM_SIZE} sent per variant (smallest has ${smallest})` };
  const pooled = (a.x + b.x) / (a.n + b.n);
  const expected = Math.min(a.n * pooled, b.n * pooled, a.n * (1 - pooled), b.n * (1 - pooled));
  if (expected < MIN_EXPECTED_COUNT) {
    return { ok: false, reason: `need at least ${MIN_EXPECTED_COUNT} expected events per variant (have ${round1(expected)})` };
  }
  return { ok: true };
}

/**
 * Two-proportion z-test, pooled: p = (xA + xB) / (nA + nB), SE = sqrt(p(1-p)(1/nA + 1/nB)),
 * z = (xB/nB - xA/nA) / SE, two-sided p-value = erfc(|z| / sqrt 2).
 * Returns z = 0, p = 1 when the pooled rate is 0 or 1 (no variance: nothing to tell apart).
 */
export function twoProportionZTest(a: { n: number; x: number }, b: { n: number; x: number }): ProportionTest {
  if (a.n <= 0 || b.n <= 0) throw new RangeError('twoProportionZTest needs at least one trial per arm');
  const pooled = (a.x + b.x) / (a.n + b.n);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n));
  if (se === 0) return { z: 0, pValue: 1 };
  const z = (b.x / b.n - a.x / a.n) / se;
  return { z, pValue: Math.min(1, erfc(Math.abs(z) / Math.SQRT2)) };
}

/**
 * Complementary error function, Chebyshev fit from Numerical Recipes (erfcc):
 * fractional error below 1.2e-7 everywhere, plenty for p-values.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 +
          t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
