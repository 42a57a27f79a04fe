import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareVariants, type VariantArm } from '../../src/analytics/experiment.ts';
import { campaignReport, formatReport, funnelStats, reportToCsv } from '../../src/analytics/report.ts';
import type { Database } from '../../src/db/database.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign } from '../support/fixtures.ts';
import { DAY, seedArm } from './seed.ts';

const SENT = new Date('2026-11-10T18:00:00Z');
const AS_OF = new Date(SENT.getTime() + 10 * DAY);

describe.each(engines)('variant comparison in reports on %s', (engine) => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
  });
  afterAll(() => db?.close());

  const defineVariants = (id: number, names: string[]) =>
    db.pool.query('UPDATE campaigns SET brief = $2 WHERE id = $1', [id, JSON.stringify({ goal: 'win back', variants: names.map((name) => ({ name })) })]);

  it('two arms of 200: B wins on response rate with the hand-computed z and p; opt-outs are too few to judge', async () => {
    const id = await insertCampaign(db.pool, { name: 'ab-two' });
    await defineVariants(id, ['A', 'B']);
    await seedArm(db.pool, { campaignId: id, variant: 'A', prefix: '+1650', first: 0, n: 200, replied: 20, stopped: 2, sentAt: SENT });
    await seedArm(db.pool, { campaignId: id, variant: 'B', prefix: '+1650', first: 1000, n: 200, replied: 36, stopped: 3, sentAt: SENT });
    const r = await campaignReport(db.pool, id, { now: AS_OF });
    const ex = r.experiment!;
    expect(ex.arms.map((a) => [a.variant, a.sent, a.replied, a.optedOut])).toEqual([['A', 200, 20, 2], ['B', 200, 36, 3]]);
    expect(ex.alpha).toBe(0.05);
    const response = ex.tests.find((t) => t.metric === 'response')!;
    // Hand calculation (see stats.two-proportion-z.test.ts): z = 2.30556, p = 0.021135.
    expect(response.z).toBeCloseTo(2.30556, 4);
    expect(response.pValue).toBeCloseTo(0.021135, 5);
    expect(response).toMatchObject({ significant: true, better: 'B', insufficient: null });
    const optOut = ex.tests.find((t) => t.metric === 'optOut')!;
    // Pooled 5/400: 2.5 expected opt-outs per arm, under the minimum of 5.
    expect(optOut).toMatchObject({ z: null, pValue: null, significant: false, better: null });
    expect(optOut.insufficient).toMatch(/5 expected events/);
    expect(ex.winner).toEqual({ response: 'B', optOut: null });

    const text = formatReport(r);
    expect(text).toContain('response rate B vs A: 18.0% vs 10.0%, z=2.31, p=0.021 – B is better');
    expect(text).toContain('opt-out rate B vs A: 1.5% vs 1.0% – not enough data to compare');
    expect(text).toContain('Winner on response rate: B · on opt-out rate: none yet');
    const csv = reportToCsv(r).trim().split('\n');
    expect(csv.slice(-2).map((l) => l.split(',').slice(0, 2).join(','))).toEqual(['variant,A', 'variant,B']);
  });

  it('three small arms: no p-values and no winner, whatever the rates look like', async () => {
    const id = await insertCampaign(db.pool, { name: 'ab-small' });
    await defineVariants(id, ['A', 'B', 'C']);
    await seedArm(db.pool, { campaignId: id, variant: 'A', prefix: '+1651', first: 0, n: 20, replied: 1, stopped: 0, sentAt: SENT });
    await seedArm(db.pool, { campaignId: id, variant: 'B', prefix: '+1651', first: 100, n: 20, replied: 12, stopped: 0, sentAt: SENT });
    await seedArm(db.pool, { campaignId: id, variant: 'C', prefix: '+1651', first: 200, n: 20, replied: 5, stopped: 0, sentAt: SENT });
    const ex = (await campaignReport(db.pool, id, { now: AS_OF })).experiment!;
    expect(ex.alpha).toBeCloseTo(0.05 / 3, 12);
    expect(ex.tests).toHaveLength(6);
    for (const t of ex.tests) {
      expect(t).toMatchObject({ pValue: null, significant: false, better: null });
      expect(t.summary).toContain('not enough data');
    }
    expect(ex.winner).toEqual({ response: null, optOut: null });
  });

  it('template ids in the variant column are not an experiment', async () => {
    const id = await insertCampaign(db.pool, { name: 'no-ab' });
    await seedArm(db.pool, { campaignId: id, variant: 'retention-1', prefix: '+1652', first: 0, n: 40, replied: 4, stopped: 0, sentAt: SENT });
    await seedArm(db.pool, { campaignId: id, variant: 'retention-2', prefix: '+1652', first: 100, n: 40, replied: 9, stopped: 0, sentAt: SENT });
    const r = await campaignReport(db.pool, id, { now: AS_OF });
    expect(r.experiment).toBeNull();
    expect(r.totals).toMatchObject({ sent: 80, replied: 13 });
    expect(formatReport(r)).not.toContain('Variants');
  });
});

describe('winners need to beat every other arm', () => {
  const arm = (variant: string, n: number, replied: number): VariantArm => {
    const facts = Array.from({ length: n }, (_, i) => ({
      id: i, batchId: null, variant, status: 'delivered' as const, suggestedAt: SENT, approvedAt: SENT, editedAt: null,
      sentAt: SENT, accepted: true, segments: 1, replies: i < replied ? 1 : 0, stops: 0,
    }));
    return { variant, ...funnelStats(facts, { asOf: AS_OF, windowDays: 7 }) };
  };

  it('one arm significantly ahead of both others wins; Bonferroni alpha = 0.05 / 3', () => {
    const ex = compareVariants([arm('A', 300, 30), arm('B', 300, 75), arm('C', 300, 33)]);
    expect(ex.winner.response).toBe('B');
  });

  it('no winner when the leader beats only one of two', () => {
    // B vs A: 45/300 vs 30/300 -> z = 1.94, p = 0.052: not significant; B vs C (15/300) is.
    const ex = compareVariants([arm('A', 300, 30), arm('B', 300, 45), arm('C', 300, 15)]);
    const bVsA = ex.tests.find((t) => t.metric === 'response' && t.a === 'A' && t.b === 'B')!;
    expect(bVsA.significant).toBe(false);
    expect(ex.tests.find((t) => t.metric === 'response' && t.a === 'B' && t.b === 'C')!.better).toBe('B');
    expect(ex.winner.response).toBeNull();
  });

  it('a p-value between alpha/3 and 0.05 does not count with three arms', () => {
    // 20/200 vs 36/200: p = 0.0211 < 0.05 but > 0.0167.
    const ex = compareVariants([arm('A', 200, 20), arm('B', 200, 36), arm('C', 200, 20)]);
    const t = ex.tests.find((x) => x.metric === 'response' && x.a === 'A' && x.b === 'B')!;
    expect(t.pValue).toBeCloseTo(0.021135, 5);
    expect(t.significant).toBe(false);
  });
});
