/**
 * POST /twilio/inbound and /twilio/status, signed exactly as Twilio signs them (forged:
 * 403 and nothing written), idempotent by MessageSid, statuses never moving backwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertBatch, insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { postSignedWebhook, serveTwilioWebhooks, twilioWebhookEnv, type WebhookServer } from '../support/twilioWebhooks.ts';
import { contactStatusOf, statusOf, testContext } from '../scheduler/support.ts';

const PUBLIC_URL = 'https://smsops.example.com';
const TOKEN = 'webhook-auth-token';

describe.each(engines)('Twilio webhooks on %s', (engine) => {
  let db: Database;
  let web: WebhookServer;
  let campaignId: number;
  let batchId: number;
  let sid = 0;
  let ctx: ReturnType<typeof testContext>;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db, twilioWebhookEnv(TOKEN, PUBLIC_URL));
    web = await serveTwilioWebhooks(ctx);
    campaignId = await insertCampaign(db.pool, { name: `hooks-${engine}` });
    batchId = await insertBatch(db.pool, campaignId);
  });
  afterAll(async () => {
    await web?.close();
    await db?.close();
  });

  const post = (path: string, params: Record<string, string>, opts: { forge?: boolean } = {}) =>
    postSignedWebhook(web.base, path, params, { authToken: opts.forge ? 'wrong-token' : TOKEN, signedUrl: PUBLIC_URL + path });
  const count = async (sql: string, args: unknown[]) => Number((await db.pool.query(sql, args)).rows[0].n);

  async function sentMessage() {
    const c = await insertCustomer(db.pool, { name: 'Andrew Thompson' });
    const id = await insertMessage(db.pool, { campaignId, batchId, status: 'sent', phone: c.phone, customerId: c.id });
    // Sent a minute before "now" on the service's clock: replies are attributed to it.
    await db.pool.query('UPDATE campaign_messages SET sent_at = $2 WHERE id = $1', [id, new Date(ctx.clock.now().getTime() - 60_000)]);
    const { rows } = await db.pool.query('SELECT provider_message_id FROM campaign_messages WHERE id = $1', [id]);
    return { id, phone: c.phone, pid: rows[0].provider_message_id as string };
  }

  it('refuses a forged inbound SMS with 403 and writes nothing', async () => {
    const m = await sentMessage();
    const res = await post('/twilio/inbound', { MessageSid: 'SMforged1', From: m.phone, To: '+14155550100', Body: 'STOP' }, { forge: true });
    expect(res.status).toBe(403);
    expect(await count('SELECT count(*) AS n FROM inbound_messages WHERE provider_message_id = $1', ['SMforged1'])).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM contact_status WHERE phone = $1`, [m.phone])).toBe(0);
  });

  it('STOP records the opt-out, cancels pending messages everywhere, posts in the thread; a retry changes nothing', async () => {
    const m = await sentMessage();
    const other = await insertCampaign(db.pool, { name: `hooks-other-${engine}` });
    const pending = [
      await insertMessage(db.pool, { campaignId: other, status: 'approved', phone: m.phone }),
      await insertMessage(db.pool, { campaignId: (await insertCampaign(db.pool, { name: `hooks-third-${engine}` })), status: 'suggested', phone: m.phone }),
    ];
    const params = { MessageSid: `SMin${engine}${++sid}`, From: m.phone, To: '+14155550100', Body: '  Stop. ' };
    for (let i = 0; i < 2; i++) {
      const res = await post('/twilio/inbound', params);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('<Response></Response>');
    }
    expect((await contactStatusOf(db, m.phone))?.status).toBe('opted_out');
    for (const id of pending) expect((await statusOf(db, id)).status).toBe('cancelled');
    expect(await count('SELECT count(*) AS n FROM inbound_messages WHERE from_phone = $1', [m.phone])).toBe(1);
    const posts = await db.pool.query(`SELECT payload FROM chat_outbox WHERE kind = 'thread' AND batch_id = $1 AND payload->'message'->>'text' LIKE $2`, [batchId, `%opted out%`]);
    expect(posts.rows).toHaveLength(1);
    expect(posts.rows[0].payload.message.text).toMatch(/^Andrew Thompson \(\+1415\*\*\*\d{4}\) opted out/);
  });

  it('HELP is answered with TwiML; START re-subscribes', async () => {
    const m = await sentMessage();
    const help = await post('/twilio/inbound', { MessageSid: `SMh${engine}${++sid}`, From: m.phone, Body: 'help' });
    expect(await help.text()).toMatch(/<Response><Message>Reply STOP to unsubscribe/);
    await post('/twilio/inbound', { MessageSid: `SMs${engine}${++sid}`, From: m.phone, Body: 'STOP' });
    await post('/twilio/inbound', { MessageSid: `SMst${engine}${++sid}`, From: m.phone, Body: 'unstop' });
    expect((await contactStatusOf(db, m.phone))?.status).toBe('subscribed');
  });

  it("the HELP answer carries the campaign's brand as text: markup in it cannot break the TwiML", async () => {
    const m = await sentMessage();
    const brand = `Tom & Jerry's <Message>"Cafe"</Message>`;
    await db.pool.query(`UPDATE campaigns SET brief = jsonb_build_object('brand', $2::text) WHERE id = $1`, [campaignId, brand]);
    try {
      const res = await post('/twilio/inbound', { MessageSid: `SMhb${engine}${++sid}`, From: m.phone, Body: 'HELP' });
      const twiml = await res.text();
      expect(twiml).toContain('<Message>Tom &amp; Jerry&apos;s &lt;Message&gt;&quot;Cafe&quot;&lt;/Message&gt;: Reply STOP');
      expect(twiml.match(/<Message>/g)).toHaveLength(1);
    } finally {
      await db.pool.query(`UPDATE campaigns SET brief = '{}'::jsonb WHERE id = $1`, [campaignId]);
    }
  });

  it('a free-text reply is stored and posted with the name, flagged when it reads like an opt-out', async () => {
    const m = await sentMessage();
    await post('/twilio/inbound', { MessageSid: `SMr${engine}${++sid}`, From: m.phone, Body: 'please stop texting me' });
    const { rows } = await db.pool.query('SELECT kind, likely_opt_out, message_id FROM inbound_messages WHERE from_phone = $1', [m.phone]);
    expect(rows[0]).toEqual({ kind: 'reply', likely_opt_out: true, message_id: m.id });
    const post2 = await db.pool.query(`SELECT payload FROM chat_outbox WHERE kind = 'thread' AND payload->'message'->>'text' LIKE $1`, [`Andrew Thompson%please stop texting me%`]);
    expect(post2.rows[0].payload.message.title).toMatch(/opt-out/);
    // Not a keyword: the number is not opted out by it.
    expect(await count('SELECT count(*) AS n FROM contact_status WHERE phone = $1', [m.phone])).toBe(0);
  });

  it('status callbacks: forged ones are refused, duplicates and out-of-order ones change nothing', async () => {
    const m = await sentMessage();
    expect((await post('/twilio/status', { MessageSid: m.pid, MessageStatus: 'delivered' }, { forge: true })).status).toBe(403);
    expect(await count('SELECT count(*) AS n FROM delivery_events WHERE provider_message_id = $1', [m.pid])).toBe(0);

    expect((await post('/twilio/status', { MessageSid: m.pid, MessageStatus: 'delivered' })).status).toBe(204);
    expect((await post('/twilio/status', { MessageSid: m.pid, MessageStatus: 'delivered' })).status).toBe(204);
    expect((await post('/twilio/status', { MessageSid: m.pid, MessageStatus: 'sent' })).status).toBe(204);
    expect((await statusOf(db, m.id)).status).toBe('delivered');
    expect(await count('SELECT count(*) AS n FROM delivery_events WHERE provider_message_id = $1', [m.pid])).toBe(2);
    // The card re-render is coalesced into the current 30 s bucket: one row, however many callbacks.
    const bucket = Math.floor(ctx.clock.now().getTime() / 30_000);
    expect(await count(`SELECT count(*) AS n FROM chat_outbox WHERE payload->>'messageId' = $1`, [String(m.id)])).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM chat_outbox WHERE dedupe_key = $1`, [`card:${m.id}:b${bucket}`])).toBe(1);

    const f = await sentMessage();
    await post('/twilio/status', { MessageSid: f.pid, MessageStatus: 'undelivered', ErrorCode: '30007' });
    expect(await statusOf(db, f.id)).toMatchObject({ status: 'undelivered', error_code: '30007' });
  });
});
