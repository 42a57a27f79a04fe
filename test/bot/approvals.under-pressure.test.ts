/**
 * The approval core under pressure: concurrent decisions on one message, decisions after
 * decisions, edits of a message being sent or introducing lint errors, non-approvers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveMessage, editMessage, rejectMessage } from '../../src/bot/approvals.ts';
import type { Database } from '../../src/db/database.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { testContext } from '../scheduler/support.ts';

describe.each(engines)('the approval core under pressure on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  let n = 0;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db, { RECIPIENT_QUIET_HOURS: 'off' });
  });
  afterAll(() => db?.close());

  const dana = { id: 'UDANA', name: 'dana', surface: 'slack' as const, isApprover: true };
  const lee = { id: 'ULEE', name: 'lee', surface: 'slack' as const, isApprover: true };
  const mallory = { id: 'UM', name: 'mallory', surface: 'slack' as const, isApprover: false };

  async function message(status: 'suggested' | 'approved' | 'sending' = 'suggested') {
    const campaignId = await insertCampaign(db.pool, { name: `probe-${engine}-${++n}`, status: 'draft' });
    const c = await insertCustomer(db.pool, { timezone: 'America/Los_Angeles' });
    return insertMessage(db.pool, { campaignId, status, phone: c.phone, customerId: c.id, body: 'Hi! We miss you at Bloom Bakery. Reply STOP to opt out' });
  }
  const row = async (id: number) => (await db.pool.query(`SELECT status, body, version, approved_by, rejected_by FROM campaign_messages WHERE id = $1`, [id])).rows[0];

  it('ten concurrent approves (and rejects) of one message: exactly one decision, one audit row', async () => {
    const id = await message();
    const outs = await Promise.all([
      ...Array.from({ length: 5 }, () => approveMessage(ctx, dana, id, 1)),
      ...Array.from({ length: 5 }, () => rejectMessage(ctx, lee, id, 1)),
    ]);
    expect(outs.filter((o) => o.ok)).toHaveLength(1);
    const audit = await db.pool.query(`SELECT action FROM audit_log WHERE entity_type = 'message' AND entity_id = $1`, [String(id)]);
    expect(audit.rows.filter((a) => a.action === 'approved' || a.action === 'rejected')).toHaveLength(1);
  });

  it('reject after approve is refused; the approval stands', async () => {
    const id = await message();
    expect((await approveMessage(ctx, dana, id, 1)).ok).toBe(true);
    expect(await rejectMessage(ctx, lee, id, 1)).toMatchObject({ ok: false, code: 'already_done' });
    expect(await row(id)).toMatchObject({ status: 'approved', approved_by: 'dana' });
  });

  it('a message being sent cannot be edited', async () => {
    const id = await message('sending');
    expect(await editMessage(ctx, dana, id, 'Hi! Totally different text from Bloom Bakery. Reply STOP to opt out', 1)).toMatchObject({ ok: false, code: 'locked' });
  });

  it('an edit that introduces lint errors is refused and the approved text stays', async () => {
    const id = await message();
    expect((await approveMessage(ctx, dana, id, 1)).ok).toBe(true);
    for (const text of ['Hi {{first_name}}! Reply STOP to opt out', 'Hi! 90% off everything at Bloom Bakery today', '']) {
      expect(await editMessage(ctx, lee, id, text, 2)).toMatchObject({ ok: false, code: 'invalid' });
    }
    expect(await row(id)).toMatchObject({ status: 'approved', approved_by: 'dana', body: 'Hi! We miss you at Bloom Bakery. Reply STOP to opt out' });
  });

  it('a non-approver can neither approve, reject nor edit', async () => {
    const id = await message();
    expect(await approveMessage(ctx, mallory, id, 1)).toMatchObject({ ok: false, code: 'not_authorized' });
    expect(await rejectMessage(ctx, mallory, id, 1)).toMatchObject({ ok: false, code: 'not_authorized' });
    expect(await editMessage(ctx, mallory, id, 'Hi! Come back to Bloom Bakery. Reply STOP to opt out', 1)).toMatchObject({ ok: false, code: 'not_authorized' });
    expect(await row(id)).toMatchObject({ status: 'suggested', version: 1 });
  });
});
