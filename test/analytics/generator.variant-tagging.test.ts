import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignVariant } from '../../src/analytics/variants.ts';
import { ManualClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { AppContext } from '../../src/context.ts';
import type { Database } from '../../src/db/database.ts';
import { generateBatch } from '../../src/generator/index.ts';
import { silentLogger } from '../../src/log.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer } from '../support/fixtures.ts';

const SEED = 424242;

describe.each(engines)('the generator tags A/B variants on %s', (engine) => {
  let db: Database;
  let ctx: AppContext;
  let campaignId: number;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = { config: loadConfig({ LOG_LEVEL: 'silent' }), db, log: silentLogger, clock: new ManualClock('2026-11-23T18:00:00Z') };
    campaignId = await insertCampaign(db.pool, { name: 'ab-generated', status: 'draft' });
    const brief = {
      goal: 'Win back lapsed regulars', brand: 'Bean There', offer: '10% off any drink',
      variants: [{ name: 'A' }, { name: 'B', offer: 'a free pastry' }],
    };
    await db.pool.query('UPDATE campaigns SET brief = $2, seed = $3 WHERE id = $1', [campaignId, JSON.stringify(brief), SEED]);
    for (let i = 0; i < 40; i++) await insertCustomer(db.pool, { name: `Pat${i} Doe`, lastVisit: '2026-08-01' });
  });
  afterAll(() => db?.close());

  const messages = async () =>
    (await db.pool.query<{ phone: string; variant: string; body: string }>('SELECT phone, variant, body FROM campaign_messages WHERE campaign_id = $1 ORDER BY id', [campaignId])).rows;

  it("each message carries its customer's assigned variant and is written from that variant's brief", async () => {
    const progress: number[] = [];
    const r = await generateBatch(ctx, { campaign: 'ab-generated', segment: 'all', generator: 'templates', seed: 3, actor: 'dana', surface: 'cli' }, (d, t) => {
      expect(t).toBe(40);
      progress.push(d);
    });
    expect(r.suggestions).toBe(40);
    expect(progress).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const rows = await messages();
    for (const m of rows) {
      expect(m.variant).toBe(assignVariant(SEED, m.phone, ['A', 'B']));
      expect(m.body).toContain(m.variant === 'B' ? 'a free pastry' : '10% off any drink');
    }
    const perArm = rows.reduce<Record<string, number>>((acc, m) => ({ ...acc, [m.variant]: (acc[m.variant] ?? 0) + 1 }), {});
    expect(perArm.A).toBeGreaterThan(5);
    expect(perArm.B).toBeGreaterThan(5);
  });

  it('a later batch with a new brief keeps the variants and nobody changes arm', async () => {
    const before = await messages();
    for (let i = 0; i < 10; i++) await insertCustomer(db.pool, { name: `Lee${i} Roe`, lastVisit: '2026-08-01' });
    await generateBatch(ctx, { campaign: 'ab-generated', segment: 'all', generator: 'templates', brief: 'Come back soon. offer: 20% off', actor: 'dana', surface: 'cli' });
    const { rows } = await db.pool.query('SELECT brief FROM campaigns WHERE id = $1', [campaignId]);
    expect(rows[0].brief).toEqual({ goal: 'Come back soon', offer: '20% off', variants: [{ name: 'A' }, { name: 'B', offer: 'a free pastry' }] });
    const after = await messages();
    expect(after).toHaveLength(50);
    expect(after.slice(0, 40).map((m) => m.variant)).toEqual(before.map((m) => m.variant));
    for (const m of after.slice(40)) {
      expect(m.variant).toBe(assignVariant(SEED, m.phone, ['A', 'B']));
      expect(m.body).toContain(m.variant === 'B' ? 'a free pastry' : '20% off');
    }
  });

  it('naming the same arms again (--variant) is fine: the brief is not rewritten and nobody changes arm', async () => {
    const audits = async () => (await db.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE entity_type = 'campaign' AND entity_id = $1`, [String(campaignId)])).rows[0].n;
    const before = await audits();
    for (let i = 0; i < 5; i++) await insertCustomer(db.pool, { name: `Kim${i} Poe`, lastVisit: '2026-08-01' });
    const r = await generateBatch(ctx, { campaign: 'ab-generated', segment: 'all', generator: 'templates', variants: ['A', 'B: offer: a free pastry'], actor: 'dana', surface: 'cli' });
    expect(r).toMatchObject({ suggestions: 5, variants: ['A', 'B'] });
    expect(await audits()).toBe(before);
    const added = (await messages()).slice(50);
    expect(added).toHaveLength(5);
    for (const m of added) expect(m.variant).toBe(assignVariant(SEED, m.phone, ['A', 'B']));
  });
});
