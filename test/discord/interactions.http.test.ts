import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditFor } from '../../src/db/queries/audit.ts';
import { enqueueChatPosts } from '../../src/db/queries/outbox.ts';
import { engines } from '../support/db.ts';
import { APPROVER_ROLE, buttonClick, CHANNEL_ID, modalSubmit, postedBatch, seedBatch, startHarness, type Harness } from './harness.ts';
import { deliverOutbox } from './outboxWait.ts';

type Row = { components: { custom_id: string }[] };
type Reply = {
  type: number;
  data?: {
    content?: string; flags?: number; embeds?: { description: string; footer: { text: string } }[]; components?: unknown[];
    custom_id?: string; title?: string;
  };
};

const approver = { roles: [APPROVER_ROLE], name: 'Dana' };

describe.each(engines)('POST /discord/interactions on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(engine, { approverRoleId: APPROVER_ROLE });
  });
  afterAll(() => h?.close());
  beforeEach(() => h.peer.reset());

  const posted = (name: string, n: number) => postedBatch(h, name, n);

  async function status(id: number) {
    const { rows } = await h.db.pool.query('SELECT status, body, approved_by, rejected_by FROM campaign_messages WHERE id = $1', [id]);
    return rows[0];
  }

  it('answers PING with PONG', async () => {
    const r = await h.send({ id: '1', application_id: '1', type: 1, token: 't', version: 1 });
    expect(r).toEqual({ status: 200, json: { type: 1 } });
  });

  it('refuses forged, unsigned and tampered requests with 401 and changes nothing', async () => {
    const { messageIds, at } = await posted('forged', 1);
    h.peer.reset();
    const click = buttonClick(`approve:${messageIds[0]}:1`, at(messageIds[0]!), approver);
    const other = generateKeyPairSync('ed25519').privateKey;
    expect((await h.send(click, { signWith: other })).status).toBe(401);
    expect((await h.send(click, { signWith: 'none' })).status).toBe(401);
    expect((await h.send(click, { tamper: true })).status).toBe(401);
    expect((await h.send({ id: '2', application_id: '1', type: 1, token: 't' }, { signWith: other })).status).toBe(401);
    await h.discord.idle();
    expect((await status(messageIds[0]!)).status).toBe('suggested');
    expect((await h.db.pool.query(`SELECT 1 FROM handled_events WHERE source = 'discord' AND id = $1`, [click.id])).rows).toHaveLength(0);
    expect(h.peer.calls).toHaveLength(0);
  });

  it('Approve updates the card message in place, audited as Discord', async () => {
    const { messageIds, at } = await posted('approve', 3);
    const id = messageIds[1]!;
    const r = await h.send(buttonClick(`approve:${id}:1`, at(id), { ...approver, id: '900000000000000077' }));
    expect(r.status).toBe(200);
    const reply = r.json as Reply;
    expect(reply.type).toBe(7);
    expect(reply.data!.embeds!.map((e) => e.footer.text.match(/message (\d+)/)![1])).toEqual(messageIds.map(String));
    expect(JSON.stringify(reply.data!.embeds![1])).toContain('Approved by Dana');
    expect((reply.data!.components as Row[])[1]!.components.map((b) => b.custom_id)).toEqual([`edit:${id}:2`]);
    expect(await status(id)).toMatchObject({ status: 'approved', approved_by: 'Dana' });
    const audit = await auditFor(h.db.pool, 'message', id);
    expect(audit.find((a) => a.action === 'approved')).toMatchObject({ actor: 'Dana', surface: 'discord', after: { actorId: '900000000000000077' } });
  });

  it('Reject updates in place; a second click elsewhere is told who was first, only to that person', async () => {
    const { messageIds, at } = await posted('reject', 2);
    const id = messageIds[0]!;
    const r = await h.send(buttonClick(`reject:${id}:1`, at(id), approver));
    expect((r.json as Reply).type).toBe(7);
    expect(await status(id)).toMatchObject({ status: 'rejected', rejected_by: 'Dana' });
    const late = await h.send(buttonClick(`approve:${id}:1`, at(id), { ...approver, name: 'Lee', id: '900000000000000002' }));
    expect(late.json).toMatchObject({ type: 4, data: { flags: 64, content: 'Already rejected by Dana.' } });
    expect((await status(id)).status).toBe('rejected');
  });

  it('a repeated interaction id is handled once', async () => {
    const { messageIds, at } = await posted('duplicate', 1);
    const id = messageIds[0]!;
    const click = buttonClick(`approve:${id}:1`, at(id), approver);
    expect(((await h.send(click)).json as Reply).type).toBe(7);
    const again = await h.send(click);
    expect(again.json).toEqual({ type: 6 });
    await h.discord.idle();
    expect((await auditFor(h.db.pool, 'message', id)).filter((a) => a.action === 'approved')).toHaveLength(1);
    expect(h.peer.callsTo('POST', /^\/webhooks\//)).toHaveLength(0);
  });

  it('without the approver role nothing changes and the clicker is told why', async () => {
    const { messageIds, at } = await posted('role', 1);
    const id = messageIds[0]!;
    for (const action of ['approve', 'reject', 'edit']) {
      const r = await h.send(buttonClick(`${action}:${id}:1`, at(id), { roles: ['123'], name: 'Guest' }));
      expect(r.json).toMatchObject({ type: 4, data: { flags: 64 } });
      expect((r.json as Reply).data!.content).toMatch(/only approvers/);
    }
    expect((await status(id)).status).toBe('suggested');
  });

  it('Edit opens a modal prefilled with the text (max 1600); a valid submit saves and re-renders the card', async () => {
    const { messageIds, at } = await posted('edit', 2);
    const id = messageIds[0]!;
    const before = (await status(id)).body as string;
    const open = (await h.send(buttonClick(`edit:${id}:1`, at(id), approver))).json as Reply & {
      data: { components: { component: { value: string; max_length: number; custom_id: string } }[] };
    };
    expect(open.type).toBe(9);
    expect(open.data.custom_id).toBe(`edit_modal:${id}:1`);
    expect(open.data.title).toBe('Edit SMS to Customer 1');
    expect(open.data.components[0]!.component).toMatchObject({ value: before, max_length: 1600, custom_id: 'body' });

    const text = 'Hi Customer 1, your table at Bella is waiting for you this week. Reply STOP to opt out';
    const saved = (await h.send(modalSubmit(`edit_modal:${id}:1`, text, at(id), approver))).json as Reply;
    expect(saved.type).toBe(7);
    expect(saved.data!.embeds![0]!.description).toContain('your table at Bella is waiting');
    expect((await status(id)).body).toBe(text);
    const audit = await auditFor(h.db.pool, 'message', id);
    expect(audit.some((a) => a.surface === 'discord' && JSON.stringify(a.after).includes('your table at Bella'))).toBe(true);
  });

  it('an invalid edit is refused as an ephemeral message with the reasons and the text to fix; nothing changes', async () => {
    const { messageIds, at } = await posted('bad edit', 1);
    const id = messageIds[0]!;
    const before = (await status(id)).body;
    const r = (await h.send(modalSubmit(`edit_modal:${id}:1`, 'Hi {{first_name}}, come back! Reply STOP to opt out', at(id), approver))).json as Reply;
    expect(r).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(r.data!.content).toContain('Your edit was not saved');
    expect(r.data!.content).toContain('{{first_name}}');
    expect(r.data!.content).toContain('cannot show errors next to the field');
    expect((await status(id)).body).toBe(before);
  });

  it('Approve all asks first (only the clicker sees it), then approves and the header follows through the outbox', async () => {
    const { batchId, messageIds, parentAt } = await posted('approve all', 4);
    const ask = (await h.send(buttonClick(`approve_all:${batchId}`, parentAt, approver))).json as Reply;
    expect(ask).toMatchObject({ type: 4, data: { flags: 64 } });
    const confirmId = ((ask.data!.components as Row[])[0]!.components[0]!).custom_id;
    expect(confirmId).toBe(`confirm:approve_all:${batchId}`);
    for (const id of messageIds) expect((await status(id)).status).toBe('suggested');

    const done = (await h.send(buttonClick(confirmId, parentAt, approver))).json as Reply;
    expect(done).toMatchObject({ type: 7, data: { content: `Approved 4 messages of batch #${batchId}.`, components: [] } });
    for (const id of messageIds) expect((await status(id)).status).toBe('approved');
    h.peer.reset();
    await deliverOutbox(h.ctx, h.discord.surface);
    const header = h.peer.callsTo('PATCH', new RegExp(`^/channels/${CHANNEL_ID}/messages/${parentAt.messageId}$`));
    expect(JSON.stringify(header.at(-1)!.body)).toContain('Approved 4');
    expect((header.at(-1)!.body as { components: unknown[] }).components).toEqual([]);
  });

  it('Reject all (confirmed) rejects what is still pending', async () => {
    const { batchId, messageIds, parentAt } = await posted('reject all', 3);
    const ask = (await h.send(buttonClick(`reject_all:${batchId}`, parentAt, approver))).json as Reply;
    const confirmId = ((ask.data!.components as Row[])[0]!.components[0]!).custom_id;
    expect(((await h.send(buttonClick(confirmId, parentAt, approver))).json as Reply).type).toBe(7);
    for (const id of messageIds) expect((await status(id)).status).toBe('rejected');
  });
});

describe.each(engines)('slow answers are deferred on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(engine, { deferAfterMs: 0 });
  });
  afterAll(() => h?.close());

  it('a button answer not ready in time is deferred (type 6) and the card edited through the webhook', async () => {
    const s = await seedBatch(h.db, 'deferred', 2);
    await enqueueChatPosts(h.db.pool, [{ surface: 'discord', kind: 'batch', dedupeKey: `batch:${s.batchId}`, batchId: s.batchId, payload: { batchId: s.batchId } }]);
    await deliverOutbox(h.ctx, h.discord.surface, `batch:${s.batchId}`);
    const { rows } = await h.db.pool.query(`SELECT card_refs->'discord' AS ref FROM campaign_messages WHERE id = $1`, [s.messageIds[0]]);
    h.peer.reset();
    const click = buttonClick(`approve:${s.messageIds[0]}:1`, { messageId: rows[0].ref.id, channelId: rows[0].ref.channel });
    expect((await h.send(click)).json).toEqual({ type: 6 });
    await h.discord.idle();
    const edits = h.peer.callsTo('PATCH', new RegExp(`^/webhooks/\\d+/${click.token}/messages/@original$`));
    expect(edits).toHaveLength(1);
    expect(JSON.stringify(edits[0]!.body)).toContain('Approved by Dana');
    expect(edits[0]!.authorized).toBe(false);
  });
});
