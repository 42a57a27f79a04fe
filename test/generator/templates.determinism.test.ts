import { describe, expect, it } from 'vitest';
import { defaultSettings } from '../../src/campaigns/settings.ts';
import { loadConfig } from '../../src/config.ts';
import { parseBrief } from '../../src/generator/brief.ts';
import type { AudienceCustomer } from '../../src/generator/context.ts';
import { CAMPAIGN_TYPES } from '../../src/generator/segments.ts';
import { templateDraft, type SuggestJob } from '../../src/generator/suggest.ts';
import { TEMPLATES } from '../../src/generator/templates.ts';

const settings = defaultSettings(loadConfig({}));

function customer(i: number, over: Partial<AudienceCustomer> = {}): AudienceCustomer {
  return {
    id: i,
    name: ['Ann Lee', 'Bob', 'Cy Young', null][i % 4] ?? null,
    phone: `+1415555${String(1000 + i).padStart(4, '0')}`,
    state: 'CA',
    timezone: null,
    favorite_category: i % 3 ? 'cold brew' : null,
    visits: i % 20,
    total_spend: i * 7.5,
    last_visit_at: '2026-01-01',
    first_seen_at: '2025-06-01',
    days_since_last_visit: 20 + (i % 90),
    days_since_first_seen: 274,
    attributes: {},
    ...over,
  };
}

const job = (seed: number, brief = 'Win back regulars. offer: 10% off any drink; brand: Bean There; signoff: -Sam'): SuggestJob => ({
  type: 'retention',
  brief: parseBrief(brief),
  settings,
  seed,
});

describe('template generator', () => {
  const people = Array.from({ length: 60 }, (_, i) => customer(i));

  it('gives the same batch for the same seed, and another mix for another seed', () => {
    const a = people.map((c) => templateDraft(c, job(42)));
    const b = people.map((c) => templateDraft(c, job(42)));
    expect(b).toEqual(a);
    const other = people.map((c) => templateDraft(c, job(7)).variant);
    expect(other).not.toEqual(a.map((d) => d.variant));
    expect(new Set(a.map((d) => d.variant)).size).toBeGreaterThan(1);
  });

  it('fills every variable from the brief and the customer, and passes the lint', () => {
    for (const type of CAMPAIGN_TYPES) {
      for (const c of people) {
        const d = templateDraft(c, { ...job(1), type });
        expect(d.body).not.toMatch(/\{\{/);
        expect(d.body).toMatch(/-Sam\nReply STOP to opt out$/);
        expect(d.lint.filter((f) => f.severity === 'error')).toEqual([]);
        expect(d.encoding).toBe('GSM-7');
      }
    }
  });

  it('chooses variants from the customer context: offer when briefed, favourite and name when known', () => {
    const withOffer = people.map((c) => templateDraft(c, job(3)).variant);
    const needs = (id: string) => Object.values(TEMPLATES).flat().find((t) => t.id === id)!.needs;
    expect(withOffer.every((v) => needs(v).includes('offer'))).toBe(true);
    const noOffer = people.map((c) => templateDraft(c, job(3, 'Say hello. brand: Bean There')));
    expect(noOffer.every((d) => !needs(d.variant).includes('offer'))).toBe(true);
    expect(noOffer.every((d) => d.lint.every((f) => f.rule !== 'offer_mismatch'))).toBe(true);
    const anonymous = templateDraft(customer(3, { name: null, favorite_category: null }), job(3));
    expect(needs(anonymous.variant)).not.toContain('name');
    expect(needs(anonymous.variant)).not.toContain('favorite');
    expect(anonymous.body).toMatch(/^Hi there/);
  });

  it('stores why: context items and a rationale', () => {
    const d = templateDraft(customer(5), job(9));
    expect(d.context).toEqual([
      { label: 'Last visit', value: '25 days ago' },
      { label: 'Visits', value: '5' },
      { label: 'Favourite', value: 'cold brew' },
      { label: 'Avg spend', value: '$7.50' },
      { label: 'Total spend', value: '$37.50' },
      { label: 'Customer since', value: '274 days ago' },
    ]);
    expect(d.rationale).toMatch(/^retention template retention-\d: last visit 25 days ago, 5 visits/);
  });
});

describe('parseBrief', () => {
  it('reads a free-text goal and key parts', () => {
    expect(parseBrief('Win back lapsed regulars. offer: 10% off any drink; tone: friendly; brand: Bean There; signoff: -Sam')).toEqual({
      goal: 'Win back lapsed regulars',
      offer: '10% off any drink',
      tone: 'friendly',
      brand: 'Bean There',
      signoff: '-Sam',
    });
    expect(parseBrief('offer: free cookie, sign-off: Thanks, Sam')).toEqual({ offer: 'free cookie', signoff: 'Thanks, Sam' });
    expect(parseBrief('Just say thanks')).toEqual({ goal: 'Just say thanks' });
  });
});
