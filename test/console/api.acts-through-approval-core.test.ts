import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { auditFor } from '../../src/db/queries/audit.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign } from '../support/fixtures.ts';
import { call } from './http.ts';
import { insertBatch, startConsole, type RunningConsole } from './support.ts';

describe.each(engines)('console actions go through the approval core on %s', (engine) => {
  let db: Database;
  let running: RunningConsole;
  let campaignId: number;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    running = await startConsole(db);
    campaignId = await insertCampaign(db.pool, { name: 'console actions', status: 'draft' });
  });
  afterAll(async () => {
    await running?.close();
    await db?.close();
  });

  async function message(id: number) {
    const { rows } = await db.pool.query('SELECT status, body, approved_by, rejected_by, edited_by FROM campaign_messages WHERE id = $1', [id]);
    return rows[0];
  }

  it('approve records the console user as approver, and a second click is told who was first', async () => {
    const { messageIds: [id] } = await insertBatch(db.pool, campaignId, [{ name: 'Ana Lima' }]);

    const first = await call(running.base, `/api/messages/${id}/approve`, { actor: 'Dana', version: 1 });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ ok: true, card: { messageId: id, status: 'approved' } });
    expect(await message(id!)).toMatchObject({ status: 'approved', approved_by: 'Dana' });
    const audit = await auditFor(db.pool, 'message', id!);
    expect(audit.at(-1)).toMatchObject({ actor: 'Dana', surface: 'console', action: 'approved' });

    const second = await call(running.base, `/api/messages/${id}/approve`, { actor: 'Lee', version: 1 });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ ok: false, code: 'already_done', message: 'Already approved by Dana.' });
  });

  it('reject without a name acts as "console"', async () => {
    const { messageIds: [id] } = await insertBatch(db.pool, campaignId, [{ name: 'Ben Okafor' }]);
    const r = await call(running.base, `/api/messages/${id}/reject`, { version: 1 });
    expect(r.status).toBe(200);
    expect(await message(id!)).toMatchObject({ status: 'rejected', rejected_by: 'console' });
  });

  it('the edit dialog validates live, refuses a bad text with its reasons, and saves a good one', async () => {
    const { messageIds: [id] } = await insertBatch(db.pool, campaignId, [{ name: 'Cy Park' }]);

    const live = await call(running.base, `/api/messages/${id}/validate`, { text: 'Hi Cy, it’s been a while! Reply STOP to opt out' });
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ ok: true, info: { segments: 1, encoding: 'UCS-2' } });

    const bad = await call(running.base, `/api/messages/${id}/edit`, { actor: 'Dana', version: 1, text: 'Hi {{first_name}}! Reply STOP to opt out' });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ ok: false, code: 'invalid' });
    expect((bad.body.errors as string[]).join(' ')).toMatch(/placeholder/);
    expect((await message(id!))!.edited_by).toBeNull();

    const text = 'Hi Cy, we saved you a seat at Bean There this week. Reply STOP to opt out';
    const good = await call(running.base, `/api/messages/${id}/edit`, { actor: 'Dana', version: 1, text });
    expect(good.status).toBe(200);
    expect(good.body).toMatchObject({ ok: true, card: { body: text, status: 'suggested' } });
    expect(await message(id!)).toMatchObject({ body: text, edited_by: 'Dana', status: 'suggested' });
  });

  it('approve all and reject all act on the remaining suggestions of a batch', async () => {
    const { batchId, messageIds } = await insertBatch(db.pool, campaignId, [{ name: 'Dee Shah' }, { name: 'Eve Moss' }, { name: 'Fay Ruiz' }]);
    await call(running.base, `/api/messages/${messageIds[0]}/reject`, { actor: 'Dana', version: 1 });

    const all = await call(running.base, `/api/batches/${batchId}/approve-all`, { actor: 'Dana' });
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ ok: true, approved: 2 });
    expect((await message(messageIds[1]!))!.status).toBe('approved');
    expect((await message(messageIds[0]!))!.status).toBe('rejected');

    const { batchId: other, messageIds: others } = await insertBatch(db.pool, campaignId, [{ name: 'Gus Tan' }]);
    const none = await call(running.base, `/api/batches/${other}/reject-all`, { actor: 'Dana' });
    expect(none.body).toMatchObject({ ok: true, rejected: 1 });
    expect((await message(others[0]!))!.status).toBe('rejected');

    const missing = await call(running.base, '/api/batches/999999/approve-all', { actor: 'Dana' });
    expect(missing.status).toBe(404);
  });

  it('the command box runs /campaign commands as the console user', async () => {
    const help = await call(running.base, '/api/command', { text: '/campaign help' });
    expect(help.status).toBe(200);
    expect((help.body.reply as { text: string }).text).toContain('`status [NAME]`');

    const list = await call(running.base, '/api/command', { text: 'list', actor: 'Dana' });
    expect((list.body.reply as { text: string }).text).toContain('console actions');
  });

  it('bad input is answered with a sentence, not a crash', async () => {
    const badId = await call(running.base, '/api/messages/abc/approve', {});
    expect(badId.status).toBe(400);
    expect(badId.body.message).toMatch(/message id/);
    const unknown = await call(running.base, '/api/messages/999999/approve', {});
    expect(unknown.status).toBe(404);
    const badName = await call(running.base, '/api/command', { text: 'help', actor: 'x'.repeat(41) });
    expect(badName.status).toBe(400);
    expect(badName.body.message).toMatch(/actor/);
    const notJson = await fetch(`${running.base}/api/command`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Smsops-Console': '1' },
      body: '{',
    });
    expect(notJson.status).toBe(400);
  });
});
