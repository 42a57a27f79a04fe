import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { generateBatch } from '../../src/generator/index.ts';
import { countAudience } from '../../src/generator/queries.ts';
import { parseSegment } from '../../src/generator/segments.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertMessage } from '../support/fixtures.ts';
import { addTaggedCustomers, NOW, testContext, type CustomerSpec } from './helpers.ts';

const DAY = 86_400_000;

describe.each(engines)('segment exclusions on %s', (engine) => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
  });
  afterAll(() => db?.close());

  /** Customers tagged for one test (with their names), and the JSON segment that selects exactly them. */
  async function tagged(specs: (CustomerSpec & { name: string })[]) {
    const { tag, segment, added } = await addTaggedCustomers(db.pool, specs);
    return { segment, tag, rows: added.map((c, i) => ({ ...c, name: specs[i]!.name })) };
  }

  async function sentMessage(campaignId: number, phone: string, sentDaysAgo: number) {
    const id = await insertMessage(db.pool, { campaignId, status: 'sent', phone });
    await db.pool.query('UPDATE campaign_messages SET sent_at = $2 WHERE id = $1', [id, new Date(Date.parse(NOW) - sentDaysAgo * DAY)]);
  }

  it('leaves out, by reason: opted out, no consent, already in this campaign, texted within the cap', async () => {
    const ctx = testContext(db);
    const { segment, rows } = await tagged([
      { name: 'Eligible' },
      { name: 'OptedOut' },
      { name: 'Unknown', consent: 'unknown' },
      { name: 'Denied', consent: 'denied' },
      { name: 'InCampaign' },
      { name: 'TextedRecently' },
      { name: 'TextedLongAgo' },
      { name: 'ScheduledElsewhere' },
    ]);
    const by = (n: string) => rows.find((r) => r.name === n)!;
    await db.pool.query(`INSERT INTO contact_status (phone, status, keyword, source) VALUES ($1, 'opted_out', 'STOP', 'sms')`, [by('OptedOut').phone]);
    const campaignId = await insertCampaign(db.pool, { name: `excl-${randomUUID().slice(0, 8)}` });
    await insertMessage(db.pool, { campaignId, status: 'rejected', phone: by('InCampaign').phone });
    const other = await insertCampaign(db.pool, { name: `other-${randomUUID().slice(0, 8)}` });
    await sentMessage(other, by('TextedRecently').phone, 3);
    await sentMessage(other, by('TextedLongAgo').phone, 10);
    await insertMessage(db.pool, { campaignId: other, status: 'approved', phone: by('ScheduledElsewhere').phone });
    const name = (await db.pool.query<{ name: string }>('SELECT name FROM campaigns WHERE id = $1', [campaignId])).rows[0]!.name;

    const r = await generateBatch(ctx, { campaign: name, segment, dryRun: true, generator: 'templates', actor: 'tester', surface: 'cli' });
    expect(r).toMatchObject({
      campaignId,
      batchId: null,
      matched: 2,
      exclusions: { opted_out: 1, no_consent: 2, already_in_campaign: 1, frequency_cap: 2 },
    });
    expect(r.sample.map((s) => s.name).sort()).toEqual(['Eligible', 'TextedLongAgo']);
    expect(r.sample[0]!.phone).toMatch(/^\+1\d{3}\*\*\*\d{4}$/);
    expect(r.sample[0]!.body).toMatch(/Reply STOP to opt out$/);

    // A frequency cap of 0 days turns that rule off.
    const uncapped = await generateBatch(testContext(db, { FREQUENCY_CAP_DAYS: '0' }), {
      campaign: name, segment, dryRun: true, actor: 'tester', surface: 'cli',
    });
    expect(uncapped).toMatchObject({ matched: 4, exclusions: { frequency_cap: 0, opted_out: 1 } });
    // A dry run writes nothing.
    const { rows: batches } = await db.pool.query('SELECT id FROM batches WHERE campaign_id = $1', [campaignId]);
    expect(batches).toEqual([]);
  });

  it('a customer excluded for several reasons is counted once, under the first', async () => {
    const { segment, rows } = await tagged([{ name: 'Both', consent: 'denied' }]);
    await db.pool.query(`INSERT INTO contact_status (phone, status, source) VALUES ($1, 'opted_out', 'manager')`, [rows[0]!.phone]);
    const r = await generateBatch(testContext(db), { campaign: 'never-created', segment, dryRun: true, actor: 't', surface: 'cli' });
    expect(r).toMatchObject({ campaignId: null, matched: 0, exclusions: { opted_out: 1, no_consent: 0 } });
  });

  it('presets count days in the campaign time zone: lapsed, new, vip', async () => {
    const { tag } = await tagged([
      { name: 'Lapsed60', lastVisit: '2026-01-01', firstSeen: '2025-01-01', totalSpend: 20 },
      { name: 'Recent', lastVisit: '2026-02-25', firstSeen: '2026-02-20', totalSpend: 800 },
      { name: 'Exactly60', lastVisit: '2026-01-01', firstSeen: '2026-01-31', totalSpend: 500 },
      { name: 'NoVisits' },
    ]);
    const count = async (spec: string) => {
      const criteria = { all: [{ field: 'attributes.tag', op: '=' as const, value: tag }, parseSegment(spec).criteria] };
      return (await countAudience(db.pool, criteria, { today: '2026-03-02', campaignId: null, capSince: null })).eligible;
    };
    expect(await count('lapsed:60')).toBe(2); // 2026-01-01 is 60 days before 2026-03-02
    expect(await count('lapsed:61')).toBe(0);
    expect(await count('new:30')).toBe(2); // first seen 2026-02-20 and 2026-01-31
    expect(await count('new:7')).toBe(0);
    expect(await count('vip:500')).toBe(2);
    expect(await count('all')).toBe(4);
  });
});
