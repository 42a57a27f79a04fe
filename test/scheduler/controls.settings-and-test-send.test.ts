/**
 * Settings changes (`key=value`, validated, then a re-plan inside the new hours) and test
 * sends (one SMS per bubble to the given number, never to an opted-out one, never counted
 * as a campaign send).
 */
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { auditFor } from '../../src/db/queries/audit.ts';
import { changeCampaignSettings, sendTestMessage } from '../../src/scheduler/controls.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertPlannedCampaign, outboxFor, statusOf, testContext } from './support.ts';

const LA = 'America/Los_Angeles';

describe.each(engines)('campaign settings and test sends on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  let n = 0;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db);
  });
  afterAll(() => db?.close());

  const plannedCampaign = (count: number, body?: string) => insertPlannedCampaign(db, ctx, { name: `settings-${++n}-${engine}`, count, body });

  async function snapshot(campaignId: number) {
    const { rows: campaign } = await db.pool.query('SELECT settings, status, updated_at FROM campaigns WHERE id = $1', [campaignId]);
    const { rows: messages } = await db.pool.query(
      'SELECT id, status, scheduled_send_time, version FROM campaign_messages WHERE campaign_id = $1 ORDER BY id',
      [campaignId],
    );
    const audit = await auditFor(db.pool, 'campaign', campaignId);
    return { campaign, messages, audit };
  }

  const change = (campaignId: number, assignments: string) =>
    changeCampaignSettings(ctx, { campaignId, assignments, actor: 'dana', surface: 'cli' });

  it.each([
    ['colour=blue', /^Unknown setting "colour"\. Known: tz, timezone, hours/],
    ['per_hour=60 colour=blue', /^Unknown setting "colour"/],
    ['hours=9am-5pm', /^Setting businessHours: "9am-5pm" is not valid\. Example: hours=10:00-18:00$/],
    ['per_minute=0', /^Setting ratePerMinute: .*Example: per_minute=5$/],
    ['tz=Mars/Olympus', /^Setting timezone: must be an IANA time zone/],
    ['gap_min=500 gap_max=300', /^gap_min must not exceed gap_max \(500 > 300\)\.$/],
    ['just words', /^No settings given\. Example:/],
  ])('refuses %j with a clear message and changes nothing', async (assignments, message) => {
    const c = await plannedCampaign(2);
    const before = await snapshot(c.campaignId);
    const r = await change(c.campaignId, assignments);
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(message);
    expect(await snapshot(c.campaignId)).toEqual(before);
  });

  it('refuses a gap_min above the default gap_max (the effective pacing would be inverted)', async () => {
    // Defaults: gap 240-420 s, pause 600-900 s.
    const c = await plannedCampaign(2);
    const before = await snapshot(c.campaignId);
    const gap = await change(c.campaignId, 'gap_min=600');
    expect(gap).toEqual({ ok: false, message: expect.stringMatching(/gap_min must not exceed gap_max/) });
    const skip = await change(c.campaignId, 'skip_max=300');
    expect(skip).toEqual({ ok: false, message: expect.stringMatching(/skip_min must not exceed skip_max/) });
    expect(await snapshot(c.campaignId)).toEqual(before);
  });

  it('stores the new hours and re-plans every unsent message inside them, in the same order', async () => {
    const c = await plannedCampaign(6);
    const before = await snapshot(c.campaignId);
    const order = (rows: { id: number; scheduled_send_time: Date }[]) =>
      [...rows].sort((a, b) => a.scheduled_send_time.getTime() - b.scheduled_send_time.getTime() || a.id - b.id).map((r) => r.id);

    const r = await change(c.campaignId, 'hours=14:00-18:00 per_hour=60');
    expect(r).toEqual({ ok: true, message: `Updated "settings-${n}-${engine}" (hours=14:00-18:00 per_hour=60); 6 unsent messages re-planned.` });

    const after = await snapshot(c.campaignId);
    expect(after.campaign[0].settings).toEqual({ businessHours: { start: 840, end: 1080 }, ratePerHour: 60 });
    expect(after.audit.at(-1)).toMatchObject({ action: 'campaign_settings', actor: 'dana', before: {}, after: { businessHours: { start: 840, end: 1080 }, ratePerHour: 60 } });
    for (const m of after.messages) {
      const local = DateTime.fromJSDate(m.scheduled_send_time, { zone: LA });
      expect(local.toISODate()).toBe('2025-07-16');
      expect(local.hour).toBeGreaterThanOrEqual(14);
      expect(local.hour).toBeLessThan(18);
    }
    expect(order(after.messages)).toEqual(order(before.messages));

    // A second change merges onto the stored overrides.
    const r2 = await change(c.campaignId, 'days=Mon-Fri');
    expect(r2.ok).toBe(true);
    expect((await snapshot(c.campaignId)).campaign[0].settings).toEqual({
      businessHours: { start: 840, end: 1080 }, ratePerHour: 60, businessDays: [1, 2, 3, 4, 5],
    });
  });

  it('a test send goes out once to the given number, marked [TEST], and is not a campaign send', async () => {
    const c = await plannedCampaign(1, 'Hi Ana! [BUBBLE] Your table is waiting. Reply STOP to opt out');
    const r = await sendTestMessage(ctx, { campaignId: c.campaignId, phone: '(415) 555-0142', actor: 'dana', surface: 'slack' });
    expect(r).toEqual({ ok: true, message: 'Test message sent to +1415***0142.' });
    expect(await outboxFor(db, '+14155550142')).toEqual([
      { body: '[TEST] Hi Ana!', message_id: null },
      { body: '[TEST] Your table is waiting. Reply STOP to opt out', message_id: null },
    ]);
    expect(await statusOf(db, c.ids[0]!)).toMatchObject({ status: 'approved', attempts: 0, provider_message_id: null });
    const audit = await auditFor(db.pool, 'campaign', c.campaignId);
    expect(audit.map((a) => a.action).filter((a) => a.startsWith('test_'))).toEqual(['test_send', 'test_sent']);
    expect(audit.at(-1)).toMatchObject({ actor: 'dana', surface: 'slack', after: { phone: '+14155550142', error: null } });
    const { rows } = await db.pool.query(`SELECT kind, payload FROM chat_outbox WHERE batch_id = $1 AND dedupe_key LIKE 'test:%'`, [c.batchId]);
    expect(rows).toEqual([{ kind: 'thread', payload: { batchId: c.batchId, message: expect.objectContaining({ title: 'Test send' }) } }]);
  });

  it('a test send to an opted-out number is refused and sends nothing', async () => {
    const c = await plannedCampaign(1);
    const phone = '+14155550143';
    await db.pool.query(`INSERT INTO contact_status (phone, status, source) VALUES ($1, 'opted_out', 'sms')`, [phone]);
    const r = await sendTestMessage(ctx, { campaignId: c.campaignId, phone: '415-555-0143', actor: 'dana', surface: 'slack' });
    expect(r).toEqual({ ok: false, message: '+1415***0143 has opted out; pick another test number.' });
    expect(await outboxFor(db, phone)).toEqual([]);
    expect((await auditFor(db.pool, 'campaign', c.campaignId)).map((a) => a.action)).not.toContain('test_send');

    const bad = await sendTestMessage(ctx, { campaignId: c.campaignId, phone: 'not a number', actor: 'dana', surface: 'slack' });
    expect(bad.ok).toBe(false);
    expect(bad.message).toMatch(/^Cannot send a test to "not a number": /);
  });
});
