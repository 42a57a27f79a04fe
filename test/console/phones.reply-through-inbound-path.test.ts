import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { OutboxSmsProvider } from '../../src/sms/outbox.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { call, openEvents } from './http.ts';
import { startConsole, type RunningConsole } from './support.ts';

interface Phone {
  phone: string;
  name: string | null;
  optedOut: boolean;
  messages: { direction: string; body: string }[];
}

describe.each(engines)('the phone panel over the outbox provider on %s', (engine) => {
  let db: Database;
  let running: RunningConsole;
  let outbox: OutboxSmsProvider;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    running = await startConsole(db);
    outbox = new OutboxSmsProvider(db.pool, running.ctx.clock);
  });
  afterAll(async () => {
    await running?.close();
    await db?.close();
  });

  async function phones(): Promise<Phone[]> {
    const r = await call(running.base, '/api/phones');
    expect(r.status).toBe(200);
    return r.body.phones as Phone[];
  }

  it('shows each number the outbox sent to, with its texts, and tells open browsers about a new send', async () => {
    const campaignId = await insertCampaign(db.pool, { name: 'phones sent' });
    const ana = await insertCustomer(db.pool, { name: 'Ana Lima' });
    const events = await openEvents(running.base);

    await outbox.send({ to: ana.phone, body: 'Hi Ana, we miss you! Reply STOP to opt out', messageId: await insertMessage(db.pool, { campaignId, status: 'sent', phone: ana.phone, customerId: ana.id }) });

    const mine = (await phones()).find((p) => p.phone === ana.phone);
    expect(mine).toEqual({
      phone: ana.phone,
      name: 'Ana Lima',
      optedOut: false,
      messages: [expect.objectContaining({ direction: 'out', body: 'Hi Ana, we miss you! Reply STOP to opt out' })],
    });
    // The watcher notices the new outbox row within a tick or two.
    await events.next((e) => e.type === 'phones');
    events.close();
  });

  it('a reply and a STOP travel the inbound path: stored, opted out, and queued for the batch thread', async () => {
    const campaignId = await insertCampaign(db.pool, { name: 'phones stop' });
    const ben = await insertCustomer(db.pool, { name: 'Ben Okafor' });
    const { rows } = await db.pool.query<{ id: number }>(
      `INSERT INTO batches (campaign_id, segment_spec, generator) VALUES ($1, 'all', 'templates') RETURNING id`,
      [campaignId],
    );
    const batchId = Number(rows[0]!.id);
    const sentId = await insertMessage(db.pool, { campaignId, batchId, status: 'sent', phone: ben.phone, customerId: ben.id });
    await outbox.send({ to: ben.phone, body: 'Hi Ben! Reply STOP to opt out', messageId: sentId });

    const reply = await call(running.base, `/api/phones/${encodeURIComponent(ben.phone)}/reply`, { body: 'See you Friday!' });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ ok: true, kind: 'reply' });
    const stop = await call(running.base, `/api/phones/${encodeURIComponent(ben.phone)}/reply`, { body: 'STOP' });
    expect(stop.body).toMatchObject({ ok: true, kind: 'stop' });

    const mine = (await phones()).find((p) => p.phone === ben.phone)!;
    expect(mine.optedOut).toBe(true);
    expect(mine.messages.map((m) => [m.direction, m.body])).toEqual([
      ['out', 'Hi Ben! Reply STOP to opt out'],
      ['in', 'See you Friday!'],
      ['in', 'STOP'],
    ]);
    const status = await db.pool.query(`SELECT status FROM contact_status WHERE phone = $1`, [ben.phone]);
    expect(status.rows[0]).toEqual({ status: 'opted_out' });
    const posts = await db.pool.query<{ kind: string; surface: string; payload: { message: { title: string } } }>(
      `SELECT kind, surface, payload FROM chat_outbox WHERE batch_id = $1 AND kind = 'thread' ORDER BY id`,
      [batchId],
    );
    expect(posts.rows.map((p) => [p.surface, p.payload.message.title])).toEqual([
      ['console', 'Reply'],
      ['console', 'Opt-out'],
    ]);
  });

  it('serves the 14-day activity chart as an SVG image with its alt text', async () => {
    const r = await call(running.base, '/api/activity');
    expect(r.status).toBe(200);
    expect(r.body.alt).toMatch(/^All campaigns, last 14 days: \d+ sent, \d+ replies, \d+ opt-outs/);
    const svg = Buffer.from(r.body.svgBase64 as string, 'base64').toString('utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('role="img"');
  });

  it('refuses a reply from something that is not a phone number, or an empty one', async () => {
    expect((await call(running.base, '/api/phones/12345/reply', { body: 'hi' })).status).toBe(400);
    const empty = await call(running.base, `/api/phones/${encodeURIComponent('+14155550100')}/reply`, { body: '   ' });
    expect(empty.status).toBe(400);
    expect(empty.body.message).toMatch(/write a reply/);
  });
});
