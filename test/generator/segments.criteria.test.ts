import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { selectAudience } from '../../src/generator/queries.ts';
import { SqlParams, compileCriteria } from '../../src/generator/segmentSql.ts';
import { parseCriteria, parseSegment, type Criteria, type CriteriaNode } from '../../src/generator/segments.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { addTaggedCustomers, type CustomerSpec } from './helpers.ts';

const HOSTILE = `'; DROP TABLE customers; --`;

describe('segment specs and criteria (parsing)', () => {
  it('parses the presets into criteria over derived fields', () => {
    expect(parseSegment('lapsed:60')).toMatchObject({ spec: 'lapsed:60', suggestedType: 'retention', criteria: { all: [{ field: 'days_since_last_visit', op: '>=', value: 60 }] } });
    expect(parseSegment('new:30')).toMatchObject({ suggestedType: 'welcome', criteria: { all: [{ field: 'days_since_first_seen', op: '<=', value: 30 }] } });
    expect(parseSegment('vip:500')).toMatchObject({ suggestedType: 'vip', criteria: { all: [{ field: 'total_spend', op: '>=', value: 500 }] } });
    expect(parseSegment('all').criteria).toEqual({ all: [] });
  });

  it.each([
    ['lapsed', /needs a number/],
    ['lapsed:abc', /Unknown segment/],
    ['lapsed:1.5', /whole number/],
    ['sometimes', /Unknown segment .*Segment examples/],
    ['{"all": [', /not valid JSON/],
    ['{"some": []}', /exactly one key, "all" or "any"/],
    ['{"all": [{"field": "visits", "op": "~", "value": 1}]}', /unknown op "~". Known ops: = != > >= < <= in contains/],
    ['{"all": [{"field": "visits", "value": 1}]}', /must be \{"field"/],
  ])('refuses %s with a clear message', (spec, message) => {
    expect(() => parseSegment(spec)).toThrow(message);
  });

  it('refuses unknown fields and ops that do not fit the field', () => {
    const compile = (c: unknown) => compileCriteria(parseCriteria(c), new SqlParams(), '$0');
    expect(() => compile({ all: [{ field: 'password', op: '=', value: 'x' }] })).toThrow(/Unknown segment field "password". Fields: name, phone/);
    expect(() => compile({ all: [{ field: 'name', op: '>', value: 'x' }] })).toThrow(/needs a number or date field/);
    expect(() => compile({ all: [{ field: 'visits', op: 'contains', value: 1 }] })).toThrow(/only works on text fields/);
    expect(() => compile({ all: [{ field: 'visits', op: '>', value: 'many' }] })).toThrow(/needs a number/);
    expect(() => compile({ all: [{ field: 'last_visit_at', op: '<', value: 'yesterday' }] })).toThrow(/needs a date YYYY-MM-DD/);
    expect(() => compile({ all: [{ field: 'state', op: 'in', value: [] }] })).toThrow(/non-empty list/);
    expect(() => compile({ all: [{ field: `attributes.${HOSTILE}`, op: '=', value: 'x' }] })).toThrow(/attribute names are letters/);
  });

  it('never puts a value or an attribute key into the SQL text', () => {
    const params = new SqlParams();
    const sql = compileCriteria(
      parseCriteria({
        any: [
          { field: 'name', op: '=', value: HOSTILE },
          { field: 'name', op: 'contains', value: HOSTILE },
          { field: 'state', op: 'in', value: [HOSTILE, 'CA'] },
          { field: 'attributes.tier name', op: '!=', value: HOSTILE },
        ],
      }),
      params,
      params.add('2026-03-02'),
    );
    expect(sql).not.toContain('DROP');
    expect(sql).not.toContain('tier name');
    expect(sql).not.toContain("'CA'");
    expect(params.values).toContain(HOSTILE);
    expect(params.values).toContain('tier name');
  });
});

describe.each(engines)('segment criteria against customers on %s', (engine) => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
  });
  afterAll(() => db?.close());

  /** A fresh group of customers tagged so each test sees only its own. */
  async function group(specs: (CustomerSpec & { name: string })[]) {
    const { tag } = await addTaggedCustomers(db.pool, specs);
    return async (node: CriteriaNode | Criteria): Promise<string[]> => {
      const rows = await selectAudience(
        db.pool,
        { all: [{ field: 'attributes.tag', op: '=', value: tag }, node] },
        { today: '2026-03-02', campaignId: null, capSince: null },
      );
      return rows.map((r) => r.name!).sort();
    };
  }

  it('supports every op on numbers, text and dates', async () => {
    const match = await group([
      { name: 'Ann', visits: 2, state: 'CA', favorite: 'Cold Brew', lastVisit: '2026-01-01' },
      { name: 'Bob', visits: 5, state: 'OR', favorite: 'Latte', lastVisit: '2026-02-20' },
      { name: 'Cy', visits: 9, state: 'ca', favorite: null, lastVisit: null },
    ]);
    expect(await match({ field: 'visits', op: '=', value: 5 })).toEqual(['Bob']);
    expect(await match({ field: 'visits', op: '!=', value: 5 })).toEqual(['Ann', 'Cy']);
    expect(await match({ field: 'visits', op: '>', value: 5 })).toEqual(['Cy']);
    expect(await match({ field: 'visits', op: '>=', value: 5 })).toEqual(['Bob', 'Cy']);
    expect(await match({ field: 'visits', op: '<', value: 5 })).toEqual(['Ann']);
    expect(await match({ field: 'visits', op: '<=', value: 5 })).toEqual(['Ann', 'Bob']);
    expect(await match({ field: 'visits', op: 'in', value: [2, 9] })).toEqual(['Ann', 'Cy']);
    expect(await match({ field: 'state', op: '=', value: 'CA' })).toEqual(['Ann', 'Cy']);
    expect(await match({ field: 'state', op: 'in', value: ['or', 'NY'] })).toEqual(['Bob']);
    expect(await match({ field: 'favorite_category', op: 'contains', value: 'brew' })).toEqual(['Ann']);
    expect(await match({ field: 'favorite_category', op: '!=', value: 'latte' })).toEqual(['Ann', 'Cy']);
    expect(await match({ field: 'favorite_category', op: '=', value: null })).toEqual(['Cy']);
    expect(await match({ field: 'last_visit_at', op: '<', value: '2026-02-01' })).toEqual(['Ann']);
    expect(await match({ field: 'days_since_last_visit', op: '>=', value: 60 })).toEqual(['Ann']);
  });

  it('nests all/any groups', async () => {
    const match = await group([
      { name: 'Ann', visits: 2, state: 'CA', totalSpend: 900 },
      { name: 'Bob', visits: 12, state: 'OR', totalSpend: 100 },
      { name: 'Cy', visits: 12, state: 'CA', totalSpend: 50 },
    ]);
    const c = parseCriteria({
      any: [
        { all: [{ field: 'state', op: '=', value: 'CA' }, { field: 'total_spend', op: '>', value: 500 }] },
        { all: [{ field: 'visits', op: '>=', value: 10 }, { any: [{ field: 'state', op: '=', value: 'OR' }] }] },
      ],
    });
    expect(await match(c)).toEqual(['Ann', 'Bob']);
    expect(await match({ any: [] })).toEqual([]);
    expect(await match({ all: [] })).toEqual(['Ann', 'Bob', 'Cy']);
  });

  it('compares attributes as text, or as numbers when the value is a number', async () => {
    const match = await group([
      { name: 'Ann', attributes: { tier: 'Gold', points: 120 } },
      { name: 'Bob', attributes: { tier: 'silver', points: '40' } },
      { name: 'Cy', attributes: { points: 'lots' } },
    ]);
    expect(await match({ field: 'attributes.tier', op: '=', value: 'gold' })).toEqual(['Ann']);
    expect(await match({ field: 'attr.points', op: '>', value: 30 })).toEqual(['Ann', 'Bob']);
    expect(await match({ field: 'attributes.tier', op: '=', value: null })).toEqual(['Cy']);
  });

  it('treats hostile values as data: they match literally and the table survives', async () => {
    const match = await group([{ name: HOSTILE }, { name: 'Plain' }]);
    expect(await match({ field: 'name', op: '=', value: HOSTILE })).toEqual([HOSTILE]);
    expect(await match({ field: 'name', op: 'contains', value: `'; DROP` })).toEqual([HOSTILE]);
    expect(await match({ field: 'name', op: 'in', value: [HOSTILE] })).toEqual([HOSTILE]);
    expect(await match({ field: 'name', op: 'contains', value: '%' })).toEqual([]);
    const { rows } = await db.pool.query(`SELECT to_regclass('public.customers') IS NOT NULL AS exists`);
    expect(rows[0]).toEqual({ exists: true });
  });
});
