import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { auditFor } from '../../src/db/queries/audit.ts';
import { ForbiddenTransitionError, transitionMessage, transitionMessages } from '../../src/db/queries/transition.ts';
import { MESSAGE_STATUSES, TRANSITIONS, type MessageStatus } from '../../src/domain/messageStatus.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertMessage } from '../support/fixtures.ts';

describe.each(engines)('guarded transitions on %s', (engine) => {
  let db: Database;
  let campaignId: number;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    campaignId = await insertCampaign(db.pool, { name: 'transitions' });
  });
  afterAll(() => db?.close());

  /** Puts a message directly into `status` (with the columns that status requires). */
  async function messageIn(status: MessageStatus): Promise<number> {
    return insertMessage(db.pool, { campaignId, status });
  }

  const allowed = MESSAGE_STATUSES.flatMap((from) => TRANSITIONS[from].map((to) => [from, to] as const));
  const forbidden = MESSAGE_STATUSES.flatMap((from) =>
    MESSAGE_STATUSES.filter((to) => !TRANSITIONS[from].includes(to)).map((to) => [from, to] as const),
  );

  it.each(allowed)('%s -> %s moves once and is audited', async (from, to) => {
    const id = await messageIn(from);
    const set = to === 'approved' ? { approved_by: 'U1', approved_at: new Date() } : to === 'sent' ? { provider_message_id: `SM${id}x` } : {};
    const r = await transitionMessage(db.pool, { id, from, to, actor: 'tester', surface: 'system', set });
    expect(r.ok).toBe(true);
    const again = await transitionMessage(db.pool, { id, from, to, actor: 'tester', surface: 'system', set });
    expect(again).toMatchObject({ ok: false, status: to });
    const audit = await auditFor(db.pool, 'message', id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'tester', action: to, before: { status: from }, after: { status: to } });
  });

  it.each(forbidden)('%s -> %s is refused and changes nothing', async (from, to) => {
    const id = await messageIn(from);
    await expect(transitionMessage(db.pool, { id, from, to, actor: 'tester', surface: 'system' })).rejects.toBeInstanceOf(
      ForbiddenTransitionError,
    );
    const { rows } = await db.pool.query('SELECT status, version FROM campaign_messages WHERE id = $1', [id]);
    expect(rows[0]).toEqual({ status: from, version: 1 });
    expect(await auditFor(db.pool, 'message', id)).toHaveLength(0);
  });

  it('a stale expectation moves nothing and reports who got there first', async () => {
    const id = await messageIn('suggested');
    const first = await transitionMessage(db.pool, {
      id, from: 'suggested', to: 'approved', actor: 'dana', surface: 'slack', set: { approved_by: 'dana', approved_at: new Date() },
    });
    expect(first.ok).toBe(true);
    const second = await transitionMessage(db.pool, { id, from: 'suggested', to: 'rejected', actor: 'lee', surface: 'slack' });
    expect(second).toEqual({ ok: false, status: 'approved', by: 'dana' });
  });

  it('the attempts fence keeps a stale sender from overwriting a newer claim', async () => {
    const id = await messageIn('sending');
    await db.pool.query('UPDATE campaign_messages SET attempts = 2 WHERE id = $1', [id]);
    const stale = await transitionMessage(db.pool, {
      id, from: 'sending', to: 'sent', attempts: 1, actor: 'scheduler', surface: 'system', set: { provider_message_id: 'SMstale' },
    });
    expect(stale.ok).toBe(false);
    const fresh = await transitionMessage(db.pool, {
      id, from: 'sending', to: 'sent', attempts: 2, actor: 'scheduler', surface: 'system', set: { provider_message_id: 'SMfresh' },
    });
    expect(fresh.ok).toBe(true);
  });

  it('moves many rows in one statement and reports the rest', async () => {
    const ids = [await messageIn('suggested'), await messageIn('suggested'), await messageIn('rejected')];
    const r = await transitionMessages(db.pool, {
      ids: [...ids, 999_999], from: 'suggested', to: 'approved', actor: 'dana', surface: 'console',
      set: { approved_by: 'dana', approved_at: new Date() },
    });
    expect(r.moved.map((m) => m.id).sort()).toEqual(ids.slice(0, 2).sort());
    expect(r.refused).toEqual([
      { id: ids[2], status: 'rejected', by: null },
      { id: 999_999, status: null, by: null },
    ]);
  });

  it('the database itself refuses a send without a recorded approval', async () => {
    for (const status of ['approved', 'sending', 'sent', 'delivered'] as const) {
      await expect(
        db.pool.query(
          `INSERT INTO campaign_messages (campaign_id, phone, body, status, provider_message_id)
           VALUES ($1, $2, 'hi', $3, 'SMx' || $2)`,
          [campaignId, `+1415555${String(Math.floor(Math.random() * 9000) + 1000)}`, status],
        ),
      ).rejects.toMatchObject({ code: '23514' });
    }
    const id = await messageIn('suggested');
    await expect(
      db.pool.query(`UPDATE campaign_messages SET status = 'sending' WHERE id = $1`, [id]),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('nobody gets the same campaign twice', async () => {
    await insertMessage(db.pool, { campaignId, status: 'suggested', phone: '+14155550111' });
    await expect(insertMessage(db.pool, { campaignId, status: 'suggested', phone: '+14155550111' })).rejects.toMatchObject({
      code: '23505',
    });
  });
});
