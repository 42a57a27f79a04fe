/**
 * The schedule preview: it writes nothing, its stored rows are the stored slots, its
 * "if approved now" rows are exactly what the planner does on approval, and the text
 * has one line a message plus totals that agree with the rows.
 */
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { transitionMessages } from '../../src/db/queries/transition.ts';
import { planApprovedMessages } from '../../src/scheduler/planner.ts';
import { formatPreview, previewCampaign, type SchedulePreview } from '../../src/scheduler/preview.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { slotsOf, testContext } from './support.ts';

const LA = 'America/Los_Angeles';
const TABLES = ['campaigns', 'batches', 'customers', 'campaign_messages', 'chat_outbox', 'audit_log', 'sms_outbox', 'contact_status'];
const NAMES = ['Andrew Thompson', 'Maria', 'Li Wei Chen', 'Sam Okafor', 'Jo Park'];

describe.each(engines)('schedule preview on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  let n = 0;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db);
  });
  afterAll(() => db?.close());

  /** `approved` planned messages, then `suggested` ones without a slot. */
  async function campaign(approved: number, suggested: number) {
    const campaignId = await insertCampaign(db.pool, { name: `preview-${++n}-${engine}` });
    const ids: number[] = [];
    for (let i = 0; i < approved + suggested; i++) {
      const c = await insertCustomer(db.pool, { name: NAMES[i % NAMES.length], timezone: LA, state: 'CA' });
      ids.push(await insertMessage(db.pool, { campaignId, status: i < approved ? 'approved' : 'suggested', phone: c.phone, customerId: c.id }));
    }
    await db.pool.query(`UPDATE campaign_messages SET segments = 2 WHERE id = $1`, [ids[0]]);
    await db.tx((c) => planApprovedMessages(c, ctx, campaignId));
    return { campaignId, ids, approved: ids.slice(0, approved), suggested: ids.slice(approved) };
  }

  async function everything(): Promise<string> {
    const out: Record<string, unknown> = {};
    for (const t of TABLES) out[t] = (await db.pool.query(`SELECT * FROM ${t} ORDER BY 1`)).rows;
    return JSON.stringify(out);
  }

  it('changes nothing in the database', async () => {
    const c = await campaign(3, 2);
    const before = await everything();
    const p = await previewCampaign(ctx, c.campaignId);
    formatPreview(p);
    expect(p.rows).toHaveLength(5);
    expect(await everything()).toEqual(before);
  });

  it('shows the stored slots, then exactly the slots the planner gives on approval', async () => {
    const c = await campaign(3, 2);
    const p = await previewCampaign(ctx, c.campaignId);
    const stored = await slotsOf(db, c.approved);

    expect(p.rows.map((r) => r.messageId)).toEqual(c.ids);
    expect(p.rows.map((r) => r.hypothetical)).toEqual([false, false, false, true, true]);
    for (const r of p.rows.slice(0, 3)) expect(r.at.getTime()).toBe(stored.get(r.messageId));

    // Approve the suggested ones as the approval core does, and plan them: the same slots.
    await db.tx(async (q) => {
      await transitionMessages(q, {
        ids: c.suggested, from: 'suggested', to: 'approved', actor: 'dana', surface: 'cli',
        set: { approved_by: 'dana', approved_at: ctx.clock.now() },
      });
      await planApprovedMessages(q, ctx, c.campaignId);
    });
    const planned = await slotsOf(db, c.suggested);
    for (const r of p.rows.slice(3)) expect(r.at.getTime()).toBe(planned.get(r.messageId));

    // Gaps, totals and names agree with the rows.
    expect(p.rows[0]!.gapSeconds).toBeNull();
    for (let i = 1; i < p.rows.length; i++) {
      expect(p.rows[i]!.gapSeconds).toBe(Math.round((p.rows[i]!.at.getTime() - p.rows[i - 1]!.at.getTime()) / 1000));
      expect(p.rows[i]!.at.getTime()).toBeGreaterThan(p.rows[i - 1]!.at.getTime());
    }
    expect(p.rows[0]!.at.getTime()).toBeGreaterThanOrEqual(ctx.clock.now().getTime());
    expect(p.first).toEqual(p.rows[0]!.at);
    expect(p.last).toEqual(p.rows[4]!.at);
    expect(p.estimatedCompletion).toEqual(p.last);
    expect(p.durationMs).toBe(p.last!.getTime() - p.first!.getTime());
    expect(p.pauses).toBe(p.rows.filter((r) => r.reason === 'pause').length);
    expect(p.unplaceable).toBe(0);
    expect(p).toMatchObject({ campaignId: c.campaignId, status: 'active', timezone: LA });
    expect(p.rows.map((r) => r.customerName)).toEqual(['Andrew T.', 'Maria', 'Li C.', 'Sam O.', 'Jo P.']);
    expect(p.rows.map((r) => r.segments)).toEqual([2, 1, 1, 1, 1]);
  });

  it('counts sends already made against the caps, as the planner does', async () => {
    // Two sends ten and five minutes ago under a cap of 2 an hour: the next slot waits for the cap.
    const campaignId = await insertCampaign(db.pool, { name: `preview-caps-${engine}`, settings: { ratePerHour: 2 } });
    for (const minutesAgo of [10, 5]) {
      const at = new Date(ctx.clock.now().getTime() - minutesAgo * 60_000);
      const id = await insertMessage(db.pool, { campaignId, status: 'delivered', scheduledAt: at });
      await db.pool.query('UPDATE campaign_messages SET last_attempt_at = $2, sent_at = $2 WHERE id = $1', [id, at]);
    }
    const c = await insertCustomer(db.pool, { timezone: LA, state: 'CA' });
    const id = await insertMessage(db.pool, { campaignId, status: 'suggested', phone: c.phone, customerId: c.id });
    const p = await previewCampaign(ctx, campaignId);
    await db.tx(async (q) => {
      await transitionMessages(q, { ids: [id], from: 'suggested', to: 'approved', actor: 'dana', surface: 'cli', set: { approved_by: 'dana', approved_at: ctx.clock.now() } });
      await planApprovedMessages(q, ctx, campaignId);
    });
    const planned = (await slotsOf(db, [id])).get(id)!;
    expect(planned).toBe(ctx.clock.now().getTime() + 50 * 60_000);
    expect(p.rows.map((r) => r.at.getTime())).toEqual([planned]);
  });

  it('prints one line a message and totals that match the rows', async () => {
    const c = await campaign(3, 2);
    const p = await previewCampaign(ctx, c.campaignId);
    const text = formatPreview(p);
    const lines = text.split('\n');
    const fmt = (d: Date) => DateTime.fromJSDate(d, { zone: LA }).toFormat('MM/dd hh:mm a');
    expect(lines[0]).toBe(`Schedule of "preview-${n}-${engine}" (active, times in ${LA})`);
    const rowLines = lines.filter((l) => l.startsWith('['));
    expect(rowLines).toHaveLength(5);
    p.rows.forEach((r, i) => {
      const gap = i === 0 ? 'first' : `+${Math.round(r.gapSeconds! / 60)}m${r.reason === 'pause' ? ' (pause)' : r.reason === 'window' ? ' (next window)' : ''}`;
      const phone = r.maskedPhone;
      expect(phone).toMatch(/^\+1415\*\*\*\d{4}$/);
      expect(rowLines[i]).toBe(
        `[${i + 1}/5] ${r.customerName} | ${phone} | ${fmt(r.at)} | ${gap} | ${r.segments} segment${r.segments === 1 ? '' : 's'}${i >= 3 ? ' | if approved now' : ''}`,
      );
    });
    const minutes = Math.round(p.durationMs / 60_000);
    expect(text).toContain(`First send: ${fmt(p.first!)}   Last send: ${fmt(p.last!)}   Duration: ${minutes >= 60 ? `${Math.floor(minutes / 60)}h ` : ''}${minutes % 60}m   Pauses: ${p.pauses}`);
    expect(text).toContain(`Estimated completion: ${fmt(p.last!)} (2 not yet approved or planned: shown as if approved now)`);
  });

  it('elides long schedules to at most --max-lines message lines, each message at most once', async () => {
    const c = await campaign(12, 0);
    const p = await previewCampaign(ctx, c.campaignId);
    for (const max of [1, 3, 5, 6, 8, 11, 12, 50]) {
      const lines = formatPreview(p, { maxLines: max }).split('\n');
      const shown = lines.filter((l) => l.startsWith('[')).map((l) => Number(/^\[(\d+)\//.exec(l)![1]));
      const more = lines.find((l) => l.includes(' more ...'));
      const hidden = more ? Number(/\.\.\. (\d+) more/.exec(more)![1]) : 0;
      expect(new Set(shown).size, `maxLines ${max}`).toBe(shown.length);
      expect(shown, `maxLines ${max}`).toEqual([...shown].sort((a, b) => a - b));
      expect(shown.length + hidden, `maxLines ${max}`).toBe(12);
      expect(shown.at(-1), `maxLines ${max}`).toBe(12);
      expect(shown.length + (more ? 1 : 0), `maxLines ${max}`).toBeLessThanOrEqual(Math.max(6, max));
    }
  });

  it('says when there is nothing to show, and fails clearly on a missing campaign', async () => {
    const empty = await insertCampaign(db.pool, { name: `preview-empty-${engine}` });
    const p: SchedulePreview = await previewCampaign(ctx, empty);
    expect(formatPreview(p)).toBe(`Campaign "preview-empty-${engine}" has nothing planned: approve messages first.`);
    await expect(previewCampaign(ctx, 987654)).rejects.toThrow('campaign 987654 does not exist');
  });
});
