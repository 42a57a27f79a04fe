/**
 * Comparing A/B variants: every pair of arms is tested on response rate (higher is
 * better) and opt-out rate (lower is better) with a two-proportion z-test. With k arms
 * there are k(k-1)/2 pairs, so each test uses alpha = 0.05 / pairs (Bonferroni). A pair
 * too small for the test (see checkSampleSize) gets no p-value, and a variant is called
 * the winner on a metric only when it is significantly better than every other arm.
 */
import { formatPercent } from './format.ts';
import type { FunnelStats } from './report.ts';
import { checkSampleSize, twoProportionZTest } from './stats.ts';

export const FAMILY_ALPHA = 0.05;

export type ExperimentMetric = 'response' | 'optOut';

export interface VariantArm extends FunnelStats {
  variant: string;
}

export interface VariantTest {
  metric: ExperimentMetric;
  a: string;
  b: string;
  /** (rate b - rate a) / pooled SE; null when the sample is too small. */
  z: number | null;
  pValue: number | null;
  significant: boolean;
  /** The better arm when significant, else null. */
  better: string | null;
  /** Why no test was run (sample too small), else null. */
  insufficient: string | null;
  summary: string;
}

export interface VariantComparison {
  /** The first arm (the brief's first variant): listed first, the reference in the report. */
  control: string;
  /** Per-test significance level after the Bonferroni correction. */
  alpha: number;
  arms: VariantArm[];
  tests: VariantTest[];
  winner: Record<ExperimentMetric, string | null>;
}

const METRIC: Record<ExperimentMetric, { label: string; successes: (s: FunnelStats) => number; higherIsBetter: boolean }> = {
  response: { label: 'response rate', successes: (s) => s.replied, higherIsBetter: true },
  optOut: { label: 'opt-out rate', successes: (s) => s.optedOut, higherIsBetter: false },
};

/** Pairwise tests and winners over the arms (pure). Arms are expected in display order. */
export function compareVariants(arms: VariantArm[]): VariantComparison {
  const pairs: [VariantArm, VariantArm][] = [];
  arms.forEach((a, i) => arms.slice(i + 1).forEach((b) => pairs.push([a, b])));
  const alpha = pairs.length ? FAMILY_ALPHA / pairs.length : FAMILY_ALPHA;
  const tests = (['response', 'optOut'] as const).flatMap((metric) => pairs.map(([a, b]) => testPair(metric, a, b, alpha)));
  const winner = (metric: ExperimentMetric): string | null => {
    const beatsAll = arms.find((arm) =>
      tests.filter((t) => t.metric === metric && (t.a === arm.variant || t.b === arm.variant)).every((t) => t.better === arm.variant),
    );
    return arms.length > 1 && beatsAll ? beatsAll.variant : null;
  };
  return { control: arms[0]?.variant ?? '', alpha, arms, tests, winner: { response: winner('response'), optOut: winner('optOut') } };
}

function testPair(metric: ExperimentMetric, a: VariantArm, b: VariantArm, alpha: number): VariantTest {
  const m = METRIC[metric];
  const sa = { n: a.sent, x: m.successes(a) };
  const sb = { n: b.sent, x: m.successes(b) };
  const head = `${m.label} ${b.variant} vs ${a.variant}: ${formatPercent(b.rates[metric])} vs ${formatPercent(a.rates[metric])}`;
  const guard = checkSampleSize(sa, sb);
  if (!guard.ok) {
    return { metric, a: a.variant, b: b.variant, z: null, pValue: null, significant: false, better: null, insufficient: guard.reason,
      summary: `${head} – not enough data to compare (${guard.reason})` };
  }
  const { z, pValue } = twoProportionZTest(sa, sb);
  const significant = pValue < alpha;
  const bHigher = z > 0;
  const better = significant ? (bHigher === m.higherIsBetter ? b.variant : a.variant) : null;
  const verdict = better ? `${better} is better` : 'no significant difference';
  return { metric, a: a.variant, b: b.variant, z, pValue, significant, better, insufficient: null,
    summary: `${head}, z=${z.toFixed(2)}, p=${formatP(pValue)} – ${verdict} (alpha ${round3(alpha)})` };
}

function formatP(p: number): string {
  return p < 0.001 ? '<0.001' : p.toFixed(3);
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
