import { describe, expect, it } from 'vitest';
import { assignVariant, campaignVariants, definedVariantNames, splitIntoArms, variantOverrides } from '../../src/analytics/variants.ts';

const phoneOf = (i: number) => `+1415${String(3_000_000 + i).padStart(7, '0')}`;

describe('A/B variant assignment', () => {
  it('the same seed, phone and variants always give the same variant', () => {
    for (let i = 0; i < 200; i++) {
      const v = assignVariant(42, phoneOf(i), ['A', 'B', 'C']);
      expect(assignVariant(42, phoneOf(i), ['A', 'B', 'C'])).toBe(v);
    }
  });

  it('adding customers does not move anybody already assigned', () => {
    const before = Array.from({ length: 500 }, (_, i) => assignVariant(7, phoneOf(i), ['A', 'B']));
    // The assignment of a phone never looks at other phones: compute again amid 500 new ones.
    const after = Array.from({ length: 1000 }, (_, i) => assignVariant(7, phoneOf(i), ['A', 'B']));
    expect(after.slice(0, 500)).toEqual(before);
  });

  it('the seed decides: another campaign splits the same customers differently', () => {
    const a = Array.from({ length: 200 }, (_, i) => assignVariant(1, phoneOf(i), ['A', 'B']));
    const b = Array.from({ length: 200 }, (_, i) => assignVariant(2, phoneOf(i), ['A', 'B']));
    const agree = a.filter((v, i) => v === b[i]).length;
    expect(agree).toBeGreaterThan(60);
    expect(agree).toBeLessThan(140);
  });

  it.each([2, 3, 4])('splits 10,000 phones into %i roughly equal arms', (k) => {
    const names = ['A', 'B', 'C', 'D'].slice(0, k);
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const v = assignVariant(20261123, phoneOf(i), names);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(names);
    // 10,000/k expected; a binomial sd is under 50, so +-3% of 10,000 is > 6 sd.
    for (const n of counts.values()) expect(Math.abs(n - 10_000 / k)).toBeLessThan(300);
  });

  it('refuses fewer than 2 or more than 4 variants', () => {
    expect(() => assignVariant(1, phoneOf(1), ['A'])).toThrow(/2 to 4 variants/);
    expect(() => assignVariant(1, phoneOf(1), ['A', 'B', 'C', 'D', 'E'])).toThrow(/2 to 4 variants/);
  });
});

describe('variants in the campaign brief', () => {
  it('reads 2 to 4 named variants with their brief fields', () => {
    const brief = { goal: 'win back', offer: '10% off', variants: [{ name: 'A' }, { name: 'B', offer: 'free dessert', tone: 'playful' }] };
    const vs = campaignVariants(brief)!;
    expect(vs.map((v) => v.name)).toEqual(['A', 'B']);
    expect(variantOverrides(vs[0]!)).toEqual({});
    expect(variantOverrides(vs[1]!)).toEqual({ offer: 'free dessert', tone: 'playful' });
    expect(definedVariantNames(brief)).toEqual(['A', 'B']);
  });

  it('a brief without variants has none; invalid ones count as none in reports', () => {
    expect(campaignVariants({ goal: 'x' })).toBeNull();
    expect(campaignVariants({})).toBeNull();
    expect(definedVariantNames({ variants: [{ name: 'A' }] })).toBeNull();
  });

  it('splits customers into arms by their assigned variant, keeping their order', () => {
    const customers = Array.from({ length: 50 }, (_, i) => ({ id: i, phone: phoneOf(i) }));
    const arms = splitIntoArms(99, customers, [{ name: 'A' }, { name: 'B' }, { name: 'C' }]);
    expect(arms.map((a) => a.variant.name)).toEqual(['A', 'B', 'C']);
    expect(arms.flatMap((a) => a.customers).length).toBe(50);
    for (const arm of arms) {
      for (const c of arm.customers) expect(assignVariant(99, c.phone, ['A', 'B', 'C'])).toBe(arm.variant.name);
      expect(arm.customers.map((c) => c.id)).toEqual([...arm.customers.map((c) => c.id)].sort((x, y) => x - y));
    }
  });

  it.each([
    [[{ name: 'A' }], /too small|>=2|at least/i],
    [[{ name: 'A' }, { name: 'a' }], /unique/],
    [[{ name: 'A' }, { name: '' }], /variants\.1\.name/],
    ['A,B', /variants/],
  ])('rejects invalid variants %j with a message that names the problem', (variants, msg) => {
    expect(() => campaignVariants({ variants })).toThrow(msg);
    expect(() => campaignVariants({ variants })).toThrow(/Example: \{"variants"/);
  });
});
