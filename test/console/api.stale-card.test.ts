/**
 * The console's decisions name the card version they were taken on (the page sends the
 * version of the card it shows, and the edit dialog the version it opened with); Approve
 * all sends its header's mark of the edits it had seen. A stale one answers 409 with the
 * current card, which the page shows in place of the old one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBatchCards, loadBatchHeader } from '../../src/bot/cards.ts';
import type { Database } from '../../src/db/database.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign } from '../support/fixtures.ts';
import { call } from './http.ts';
import { insertBatch, startConsole, type RunningConsole } from './support.ts';

describe.each(engines)('console decisions on an out-of-date card, on %s', (engine) => {
  let db: Database;
  let running: RunningConsole;
  let campaignId: number;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    running = await startConsole(db);
    campaignId = await insertCampaign(db.pool, { name: 'console versions', status: 'draft' });
  });
  afterAll(async () => {
    await running?.close();
    await db?.close();
  });

  const message = async (id: number) =>
    (await db.pool.query('SELECT status, body, version, approved_by, rejected_by, edited_by FROM campaign_messages WHERE id = $1', [id])).rows[0];
  const NEW = 'Hi Ana, final notice: your Bean There balance is overdue, pay today. Reply STOP to opt out';

  it('approve and reject at the version before an edit answer 409 stale with the current card; at the current version they act', async () => {
    const { messageIds: [id] } = await insertBatch(db.pool, campaignId, [{ name: 'Ana Lima' }]);
    expect((await call(running.base, `/api/messages/${id}/edit`, { actor: 'Lee', version: 1, text: NEW })).status).toBe(200);

    for (const action of ['approve', 'reject']) {
      const r = await call(running.base, `/api/messages/${id}/${action}`, { actor: 'Dana', version: 1 });
      expect(r.status).toBe(409);
      expect(r.body).toMatchObject({ ok: false, code: 'stale', card: { messageId: id, version: 2, body: NEW, status: 'suggested' } });
      expect(r.body.message).toMatch(/text changed since this card was shown/);
    }
    expect(await message(id!)).toMatchObject({ status: 'suggested', body: NEW, approved_by: null, rejected_by: null });

    const ok = await call(running.base, `/api/messages/${id}/approve`, { actor: 'Dana', version: 2 });
    expect(ok.status).toBe(200);
    expect(await message(id!)).toMatchObject({ status: 'approved', approved_by: 'Dana', body: NEW });
  });

  it('a decision that names no version is refused as made on an out-of-date card', async () => {
    const { messageIds: [id] } = await insertBatch(db.pool, campaignId, [{ name: 'Ben Okafor' }]);
    const r = await call(running.base, `/api/messages/${id}/approve`, { actor: 'Dana' });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ ok: false, code: 'stale', card: { version: 1 } });
    expect((await call(running.base, `/api/messages/${id}/approve`, { actor: 'Dana', version: 'one' })).status).toBe(400);
    expect((await message(id!)).status).toBe('suggested');
  });

  it('an edit saved from a dialog opened before someone else changed and approved the text is refused; their text stands', async () => {
    const { messageIds: [id] } = await insertBatch(db.pool, campaignId, [{ name: 'Cy Park' }]);
    const corrected = 'Hi Cy, we saved you a seat at Bean There this week. Reply STOP to opt out';
    expect((await call(running.base, `/api/messages/${id}/edit`, { actor: 'Lee', version: 1, text: corrected })).status).toBe(200);
    expect((await call(running.base, `/api/messages/${id}/approve`, { actor: 'Lee', version: 2 })).status).toBe(200);

    const r = await call(running.base, `/api/messages/${id}/edit`, { actor: 'Dana', version: 1, text: 'Hi Cy, drop in any day this week at Bean There. Reply STOP to opt out' });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ ok: false, code: 'stale', card: { body: corrected, status: 'approved' } });
    expect(r.body.message).toMatch(/Someone changed this message while you were editing it/);
    expect(await message(id!)).toMatchObject({ status: 'approved', body: corrected, approved_by: 'Lee', edited_by: 'Lee' });
  });

  it('Approve all with the mark of the header the page shows holds back a message edited after it', async () => {
    const { batchId, messageIds } = await insertBatch(db.pool, campaignId, [{ name: 'Dee Shah' }, { name: 'Eve Moss' }]);
    // The header as the console stores and shows it carries the mark.
    await running.surface.postBatch(await loadBatchHeader(db.pool, running.ctx, batchId), await loadBatchCards(db.pool, running.ctx, batchId));
    const channel = await call(running.base, '/api/channel');
    const header = (channel.body.posts as { kind: string; model: { batchId: number; editsThrough: string } }[]).find((p) => p.kind === 'batch' && p.model.batchId === batchId)!;
    expect(header.model.editsThrough).toBe('0');

    expect((await call(running.base, `/api/messages/${messageIds[0]}/edit`, { actor: 'Lee', version: 1, text: 'Hi Dee, new pastries at Bean There this week. Reply STOP to opt out' })).status).toBe(200);
    const all = await call(running.base, `/api/batches/${batchId}/approve-all`, { actor: 'Dana', editsThrough: header.model.editsThrough });
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ ok: true, approved: 1 });
    expect(all.body.message).toMatch(/1 was edited since this batch was shown/);
    expect((await message(messageIds[0]!)).status).toBe('suggested');
    expect((await message(messageIds[1]!)).status).toBe('approved');

    expect((await call(running.base, `/api/batches/${batchId}/approve-all`, { actor: 'Dana', editsThrough: 'latest' })).status).toBe(400);
    const now = (await loadBatchHeader(db.pool, running.ctx, batchId)).editsThrough;
    expect((await call(running.base, `/api/batches/${batchId}/approve-all`, { actor: 'Dana', editsThrough: now })).body).toMatchObject({ ok: true, approved: 1 });
    expect((await message(messageIds[0]!)).status).toBe('approved');
  });
});
