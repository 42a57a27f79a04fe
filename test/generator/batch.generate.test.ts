import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { auditFor } from '../../src/db/queries/audit.ts';
import { generateBatch } from '../../src/generator/index.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { addTaggedCustomers, batchMessages, testContext, WINBACK_BRIEF } from './helpers.ts';


describe.each(engines)('generateBatch on %s', (engine) => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
  });
  afterAll(() => db?.close());

  async function lapsedCustomers(n: number) {
    const { tag } = await addTaggedCustomers(db.pool, Array.from({ length: n }, (_, i) => ({
      name: `Pat${i} Doe`, lastVisit: '2025-12-01', firstSeen: '2024-05-01', visits: 4 + i, totalSpend: 60 + i, favorite: 'Cold Brew',
    })));
    return JSON.stringify({ all: [{ field: 'attributes.tag', op: '=', value: tag }, { field: 'days_since_last_visit', op: '>=', value: 60 }] });
  }

  it('creates the campaign, one batch of suggestions, and the batch chat post in one go', async () => {
    const ctx = testContext(db);
    const segment = await lapsedCustomers(3);
    const campaign = `Winback ${randomUUID().slice(0, 8)}`;
    const progress: [number, number][] = [];
    const r = await generateBatch(ctx, { campaign, segment, brief: WINBACK_BRIEF, seed: 11, actor: 'dana', surface: 'cli' }, (d, t) => progress.push([d, t]));

    expect(r).toMatchObject({ generator: 'templates', matched: 3, suggestions: 3, lintFindings: 0 });
    expect(progress).toEqual([[1, 3], [2, 3], [3, 3]]);
    expect(r.estimatedCostUsd).toBeGreaterThan(0);
    expect(r.sample).toHaveLength(3);

    const c = (await db.pool.query('SELECT * FROM campaigns WHERE id = $1', [r.campaignId])).rows[0];
    expect(c).toMatchObject({
      name: campaign, status: 'draft', campaign_type: 'retention', chat_surface: 'console', chat_channel: 'console', created_by: 'dana',
      brief: { goal: 'Win back lapsed regulars', offer: '10% off any drink', tone: 'friendly', brand: 'Bean There', signoff: '-Sam' },
    });

    const b = (await db.pool.query('SELECT * FROM batches WHERE id = $1', [r.batchId])).rows[0];
    expect(b).toMatchObject({ campaign_id: r.campaignId, generator: 'templates', suggestion_count: 3, lint_finding_count: 0, post_state: 'pending', created_by: 'dana' });
    expect(b.estimated_cost_usd).toBeCloseTo(r.estimatedCostUsd, 4);
    expect(b.llm_usage).toMatchObject({ generator: 'templates', seed: 11, smsCostUsd: r.estimatedCostUsd });

    const msgs = await batchMessages(db.pool, r.batchId!);
    expect(msgs).toHaveLength(3);
    for (const m of msgs) {
      expect(m).toMatchObject({ status: 'suggested', suggested_by: 'templates', campaign_type: 'retention', encoding: 'GSM-7', lint: [] });
      expect(m.body).toMatch(/-Sam\nReply STOP to opt out$/);
      expect(m.body).toContain('10% off any drink');
      expect(m.segments).toBeGreaterThanOrEqual(1);
      expect(m.variant).toMatch(/^retention-\d$/);
      expect(m.rationale).toMatch(/^retention template/);
      expect(m.customer_context).toEqual(expect.arrayContaining([{ label: 'Last visit', value: '91 days ago' }, { label: 'Favourite', value: 'Cold Brew' }]));
    }

    const { rows: outbox } = await db.pool.query('SELECT surface, kind, dedupe_key, batch_id, payload, status FROM chat_outbox WHERE batch_id = $1', [r.batchId]);
    expect(outbox).toEqual([{ surface: 'console', kind: 'batch', dedupe_key: `batch:${r.batchId}`, batch_id: r.batchId, payload: { batchId: r.batchId }, status: 'pending' }]);
    expect((await auditFor(db.pool, 'batch', r.batchId!)).map((a) => a.action)).toEqual(['batch_created']);
    expect((await auditFor(db.pool, 'campaign', r.campaignId!)).map((a) => a.action)).toEqual(['campaign_created']);

    // The same seed gives the same texts; the second run finds everyone already in the campaign.
    await expect(generateBatch(ctx, { campaign, segment, actor: 'dana', surface: 'cli' })).rejects.toMatchObject({
      code: 'empty_segment',
      message: expect.stringContaining('already_in_campaign 3'),
    });
  });

  it('respects --limit, infers the type from the segment, and updates the brief of an existing campaign', async () => {
    const ctx = testContext(db);
    const { segment: theirs } = await addTaggedCustomers(db.pool, Array.from({ length: 4 }, (_, i) => ({ name: `New${i}`, firstSeen: '2026-02-25' })));
    const campaign = `Welcome ${randomUUID().slice(0, 8)}`;
    const first = await generateBatch(ctx, { campaign, segment: 'new:30', limit: 2, brief: 'Welcome them. brand: Bean There', actor: 'dana', surface: 'console' });
    expect(first).toMatchObject({ suggestions: 2 });
    const c1 = (await db.pool.query('SELECT campaign_type FROM campaigns WHERE id = $1', [first.campaignId])).rows[0];
    expect(c1.campaign_type).toBe('welcome');

    const second = await generateBatch(ctx, {
      campaign, segment: theirs, brief: 'Welcome them. offer: free cookie', actor: 'lee', surface: 'cli',
    });
    expect(second).toMatchObject({ campaignId: first.campaignId, matched: 2, suggestions: 2 });
    expect(second.batchId).not.toBe(first.batchId);
    const c2 = (await db.pool.query('SELECT brief FROM campaigns WHERE id = $1', [first.campaignId])).rows[0];
    expect(c2.brief).toEqual({ goal: 'Welcome them', offer: 'free cookie' });
    expect((await auditFor(db.pool, 'campaign', first.campaignId!)).map((a) => a.action)).toEqual(['campaign_created', 'campaign_brief']);
  });

  it('refuses bad input with clear messages and stores nothing', async () => {
    const ctx = testContext(db);
    await expect(generateBatch(ctx, { campaign: 'x', segment: 'lapsed', actor: 't', surface: 'cli' })).rejects.toThrow(/needs a number/);
    await expect(generateBatch(ctx, { campaign: 'x', segment: 'all', limit: 0, actor: 't', surface: 'cli' })).rejects.toThrow(/--limit/);
    await expect(generateBatch(ctx, { campaign: 'x', segment: 'all', generator: 'openai', actor: 't', surface: 'cli' })).rejects.toThrow(
      /needs OPENAI_API_KEY/,
    );
    await expect(generateBatch(ctx, { campaign: 'x', segment: 'all', type: 'spam', actor: 't', surface: 'cli' })).rejects.toThrow(
      /Unknown campaign type "spam"/,
    );
    const { rows } = await db.pool.query(`SELECT id FROM campaigns WHERE name = 'x'`);
    expect(rows).toEqual([]);
  });
});
