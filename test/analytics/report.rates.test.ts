import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSV_COLUMNS, campaignReport, formatReport, reportToCsv, type CampaignReport } from '../../src/analytics/report.ts';
import type { Database } from '../../src/db/database.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign } from '../support/fixtures.ts';
import { DAY, HOUR, MINUTE, seedBatch, seedInbound, seedMessage } from './seed.ts';

const T0 = new Date('2026-11-01T17:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const AS_OF = at(20 * DAY);

/**
 * A campaign with known answers (see each message's comment). Batch 1 (lapsed:60) holds
 * m1..m10, batch 2 (vip:500) m11..m14. Approval delays in minutes: m1 10, m2 20, m3 30,
 * m4 40, m5 50, m6 60, m10 70, m11 5, m12 15, m13 25.
 */
async function seedKnownCampaign(q: Database['pool']): Promise<number> {
  const id = await insertCampaign(q, { name: 'report-known' });
  const other = await insertCampaign(q, { name: 'report-other' });
  const b1 = await seedBatch(q, id, 'lapsed:60', at(0));
  const b2 = await seedBatch(q, id, 'vip:500', at(DAY));
  const phone = (n: number) => `+1415600${String(n).padStart(4, '0')}`;
  const msg = (n: number, batchId: number, status: Parameters<typeof seedMessage>[1]['status'], approveMin: number | null, extra: object = {}) =>
    seedMessage(q, {
      campaignId: id, batchId, phone: phone(n), status, suggestedAt: at(0),
      approvedAt: approveMin === null ? undefined : at(approveMin * MINUTE), ...extra,
    });

  await msg(1, b1, 'delivered', 10, { sentAt: at(HOUR), segments: 1, editedAt: at(5 * MINUTE) }); // replied
  await msg(2, b1, 'delivered', 20, { sentAt: at(HOUR), segments: 2 }); // STOP
  const m3 = await msg(3, b1, 'delivered', 30, { sentAt: at(2 * HOUR), segments: 1 }); // replies go elsewhere or too late
  await msg(4, b1, 'undelivered', 40, { sentAt: at(2 * HOUR) });
  await msg(5, b1, 'failed', 50, { sentAt: at(2 * HOUR), providerId: 'SMcarrierfailed5' }); // accepted, then failed
  await msg(6, b1, 'failed', 60, { providerId: null }); // refused by the provider: not sent
  await msg(7, b1, 'rejected', null);
  await msg(8, b1, 'rejected', null, { editedAt: at(MINUTE) }); // an edit that was rejected is not an approved edit
  await msg(9, b1, 'suggested', null);
  await msg(10, b1, 'cancelled', 70); // approved, cancelled before sending
  await msg(11, b2, 'sent', 5, { sentAt: at(19 * DAY) }); // two replies, window still open at AS_OF
  await msg(12, b2, 'delivered', 15, { sentAt: at(3 * DAY), segments: 2, editedAt: at(10 * MINUTE) }); // reply and STOP
  await msg(13, b2, 'approved', 25);
  await msg(14, b2, 'rejected', null);

  await seedInbound(q, { phone: phone(1), at: at(2 * HOUR) });
  await seedInbound(q, { phone: phone(2), at: at(3 * HOUR), kind: 'stop' });
  // m3's number got a later text from another campaign: that campaign owns the reply,
  // whatever the stored column claims.
  await seedMessage(q, { campaignId: other, phone: phone(3), status: 'delivered', approvedAt: at(0), sentAt: at(DAY) });
  await seedInbound(q, { phone: phone(3), at: at(DAY + HOUR), storedMessageId: m3 });
  await seedInbound(q, { phone: phone(3), at: at(9 * DAY), storedMessageId: m3 }); // 8 days after the latest send
  await seedInbound(q, { phone: phone(11), at: at(19 * DAY + HOUR) });
  await seedInbound(q, { phone: phone(11), at: at(19 * DAY + 2 * HOUR) });
  await seedInbound(q, { phone: phone(11), at: at(20 * DAY + HOUR) }); // after AS_OF
  await seedInbound(q, { phone: phone(12), at: at(3 * DAY + HOUR) });
  await seedInbound(q, { phone: phone(12), at: at(3 * DAY + 2 * HOUR), kind: 'stop' });
  await seedInbound(q, { phone: phone(12), at: at(3 * DAY + 3 * HOUR), kind: 'help' }); // neither reply nor opt-out
  await seedInbound(q, { phone: '+14156009999', at: at(HOUR) }); // a number we never texted
  return id;
}

describe.each(engines)('campaign report rates on %s', (engine) => {
  let db: Database;
  let report: CampaignReport;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    const id = await seedKnownCampaign(db.pool);
    report = await campaignReport(db.pool, id, { now: AS_OF });
  });
  afterAll(() => db?.close());

  it('counts and rates of the whole campaign', () => {
    const t = report.totals;
    expect(t).toMatchObject({
      suggested: 14, awaitingApproval: 1, approved: 10, edited: 2, rejected: 3, cancelled: 1,
      sent: 7, delivered: 4, undelivered: 1, failed: 2,
      replied: 3, replies: 4, optedOut: 2, windowOpen: 1, segments: 9, costUsd: 0.0747,
      medianSecondsToApproval: 27.5 * 60,
    });
    expect(t.rates.approval).toBeCloseTo(10 / 13, 10);
    expect(t.rates.edit).toBeCloseTo(2 / 10, 10);
    expect(t.rates.delivery).toBeCloseTo(4 / 7, 10);
    expect(t.rates.response).toBeCloseTo(3 / 7, 10);
    expect(t.rates.optOut).toBeCloseTo(2 / 7, 10);
  });

  it('counts and rates per batch', () => {
    const [b1, b2] = report.batches;
    expect(b1).toMatchObject({
      segmentSpec: 'lapsed:60', suggested: 10, approved: 7, rejected: 2, edited: 1, sent: 5, delivered: 3,
      replied: 1, optedOut: 1, segments: 6, windowOpen: 0, medianSecondsToApproval: 40 * 60,
    });
    expect(b1!.rates).toEqual({ approval: 7 / 9, edit: 1 / 7, delivery: 3 / 5, response: 1 / 5, optOut: 1 / 5 });
    expect(b2).toMatchObject({
      segmentSpec: 'vip:500', suggested: 4, approved: 3, rejected: 1, edited: 1, sent: 2, delivered: 1,
      replied: 2, replies: 3, optedOut: 1, segments: 3, windowOpen: 1, medianSecondsToApproval: 15 * 60,
    });
    expect(b2!.rates).toEqual({ approval: 3 / 4, edit: 1 / 3, delivery: 1 / 2, response: 1, optOut: 1 / 2 });
  });

  it('a wider window and a later "now" change only what they should', async () => {
    // 10 days: m3's late reply is still outside (the other campaign's send is the latest).
    const wide = await campaignReport(db.pool, report.campaign.id, { now: at(30 * DAY), attributionWindowDays: 10 });
    expect(wide.totals).toMatchObject({ replied: 3, replies: 5, windowOpen: 0 });
  });

  it('rates are null, not NaN, when nothing was sent', async () => {
    const empty = await insertCampaign(db.pool, { name: 'report-empty' });
    const r = await campaignReport(db.pool, empty, { now: AS_OF });
    expect(r.totals.rates).toEqual({ approval: null, edit: null, delivery: null, response: null, optOut: null });
    expect(r.totals.medianSecondsToApproval).toBeNull();
    expect(formatReport(r)).toContain('0 sent');
  });

  it('unknown campaigns are a clear error', async () => {
    await expect(campaignReport(db.pool, 987654)).rejects.toMatchObject({ code: 'campaign_not_found' });
  });

  it('JSON output keeps every count and rate', () => {
    const json = JSON.parse(JSON.stringify(report));
    expect(Object.keys(json)).toEqual(['campaign', 'asOf', 'attributionWindowDays', 'totals', 'batches', 'experiment', 'rateDefinitions']);
    expect(json.rateDefinitions.response).toMatch(/^replied \/ sent/);
    expect(json.asOf).toBe(AS_OF.toISOString());
    expect(json.experiment).toBeNull();
    expect(json.batches).toHaveLength(2);
    expect(Object.keys(json.totals.rates)).toEqual(['approval', 'edit', 'delivery', 'response', 'optOut']);
  });

  it('CSV output: a header and one row per campaign and batch, rates as fractions', () => {
    const rows = parse(reportToCsv(report), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual([...CSV_COLUMNS]);
    expect(rows.map((r) => [r.scope, r.key])).toEqual([
      ['campaign', 'report-known'],
      ['batch', String(report.batches[0]!.batchId)],
      ['batch', String(report.batches[1]!.batchId)],
    ]);
    expect(rows[0]).toMatchObject({
      sent: '7', delivered: '4', replied: '3', opted_out: '2', segments: '9', cost_usd: '0.0747',
      median_seconds_to_approval: '1650', approval_rate: '0.7692', delivery_rate: '0.5714', response_rate: '0.4286',
    });
  });

  it('the text report names each rate with its count', () => {
    const text = formatReport(report);
    expect(text).toContain('Campaign "report-known" (active)');
    expect(text).toContain('10 approved (76.9% of 13 decided)');
    expect(text).toContain('4 delivered (57.1% of sent)');
    expect(text).toContain('9 segments · $0.0747');
    expect(text).toContain('Responses (7-day window): 3 replied (42.9% of sent) · 2 opted out (28.6% of sent) · 1 send is still inside its window');
    expect(text).toContain('median time to approval 28m');
    expect(text).toContain('Batch #');
  });
});
