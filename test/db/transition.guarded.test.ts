import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { auditFor } from '../../src/db/queries/audit.ts';
import { ForbiddenTransitionError, NOW, transitionMessage, transitionMessages } from '../../src/db/queries/transition.ts';
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

  it('a claim bumps attempts in the same statement and hands back the new fence; a second claim moves nothing', async () => {
    const id = await messageIn('approved');
    const claim = () =>
      transitionMessages(db.pool, { ids: [id], from: 'approved', to: 'sending', bumpAttempts: true, actor: 'scheduler', surface: 'system' });
    const first = await claim();
    expect(first.moved).toEqual([{ id, from: 'approved', to: 'sending', version: 2, attempts: 1 }]);
    const second = await claim();
    expect(second).toMatchObject({ moved: [], refused: [{ id, status: 'sending' }] });
    const { rows } = await db.pool.query('SELECT status, attempts FROM campaign_messages WHERE id = $1', [id]);
    expect(rows[0]).toEqual({ status: 'sending', attempts: 1 });
    const audit = await auditFor(db.pool, 'message', id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: 'sending', after: { status: 'sending', attempts: 1 } });
  });

  it('only a claim may skip its audit row; every other move writes one', async () => {
    const id = await messageIn('approved');
    const r = await transitionMessages(db.pool, {
      ids: [id], from: 'approved', to: 'sending', bumpAttempts: true, actor: 'scheduler', surface: 'system', audit: false,
    });
    expect(r.moved).toMatchObject([{ id, attempts: 1 }]);
    expect(await auditFor(db.pool, 'message', id)).toEqual([]);
    await expect(
      transitionMessages(db.pool, { ids: [id], from: 'sending', to: 'sent', actor: 'scheduler', surface: 'system', audit: false, set: { provider_message_id: `SMa${id}` } }),
    ).rejects.toThrow(/only a claim/);
    await transitionMessages(db.pool, { ids: [id], from: 'sending', to: 'sent', actor: 'scheduler', surface: 'system', set: { provider_message_id: `SMa${id}` } });
    expect((await auditFor(db.pool, 'message', id)).map((a) => a.action)).toEqual(['sent']);
  });

  it('per-row values and fences: each row gets its own provider ids, a stale fence moves only its own row', async () => {
    const ids = [await messageIn('sending'), await messageIn('sending'), await messageIn('sending')];
    await db.pool.query('UPDATE campaign_messages SET attempts = 2 WHERE id = ANY($1::bigint[])', [ids]);
    // Ids a naive array literal would mangle: quotes, commas, braces, backslashes.
    const extra = [['SM"a,b', 'SM{c}\\d'], [], ['SMe']];
    const r = await transitionMessages(db.pool, {
      rows: ids.map((id, i) => ({ id, attempts: i === 1 ? 1 : 2, set: { provider_message_id: `SMrow${id}`, extra_provider_ids: extra[i] } })),
      from: 'sending', to: 'sent', actor: 'scheduler', surface: 'system', set: { provider: 'outbox' },
    });
    expect(r.moved.map((m) => m.id).sort()).toEqual([ids[0], ids[2]].sort());
    expect(r.refused).toEqual([{ id: ids[1], status: 'sending', by: 'fixture' }]);
    const { rows } = await db.pool.query(
      'SELECT id, status, provider, provider_message_id, extra_provider_ids FROM campaign_messages WHERE id = ANY($1::bigint[]) ORDER BY id',
      [ids],
    );
    expect(rows).toEqual([
      { id: ids[0], status: 'sent', provider: 'outbox', provider_message_id: `SMrow${ids[0]}`, extra_provider_ids: extra[0] },
      { id: ids[1], status: 'sending', provider: null, provider_message_id: null, extra_provider_ids: [] },
      { id: ids[2], status: 'sent', provider: 'outbox', provider_message_id: `SMrow${ids[2]}`, extra_provider_ids: extra[2] },
    ]);
    expect(await auditFor(db.pool, 'message', ids[1]!)).toHaveLength(0);
    expect(await auditFor(db.pool, 'message', ids[0]!)).toHaveLength(1);
  });

  it('a per-row fence and a version fence hold together with a shared fence', async () => {
    const id = await messageIn('sending');
    await db.pool.query('UPDATE campaign_messages SET attempts = 3 WHERE id = $1', [id]);
    const req = (shared: number, own: number) =>
      transitionMessages(db.pool, {
        rows: [{ id, attempts: own }], attempts: shared, from: 'sending', to: 'unknown', actor: 'reconciler', surface: 'system',
      });
    expect((await req(3, 2)).moved).toHaveLength(0);
    expect((await req(2, 3)).moved).toHaveLength(0);
    expect((await req(3, 3)).moved).toHaveLength(1);
  });

  it('refuses malformed per-row requests before SQL: a message twice, rows setting different columns, NOW per row, unknown columns', async () => {
    const id = await messageIn('sending');
    const base = { from: 'sending', to: 'sent', actor: 'scheduler', surface: 'system' } as const;
    await expect(transitionMessages(db.pool, { ...base, rows: [{ id, set: { provider_message_id: 'SMa' } }, { id, set: { provider_message_id: 'SMb' } }] })).rejects.toThrow(/twice/);
    await expect(transitionMessages(db.pool, { ...base, rows: [{ id, set: { provider_message_id: 'SMa' } }, { id: id + 1, set: {} }] })).rejects.toThrow(/same columns/);
    await expect(transitionMessages(db.pool, { ...base, rows: [{ id, set: { sent_at: NOW } }] })).rejects.toThrow(/NOW/);
    await expect(transitionMessages(db.pool, { ...base, rows: [{ id, set: { attempts: 9 } as never }] })).rejects.toThrow(/cannot set column attempts/);
    const { rows } = await db.pool.query('SELECT status, attempts, version FROM campaign_messages WHERE id = $1', [id]);
    expect(rows[0]).toEqual({ status: 'sending', attempts: 0, version: 1 });
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
