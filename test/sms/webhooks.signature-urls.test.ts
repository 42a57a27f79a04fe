/**
 * The X-Twilio-Signature check against PUBLIC_URL for the URL shapes
 * Twilio is configured with: a trailing slash on PUBLIC_URL, an explicit port, a query
 * string on the webhook URL; and the status ordering rules through the real HTTP route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, nextPhone, insertMessage } from '../support/fixtures.ts';
import { postSignedWebhook, serveTwilioWebhooks, twilioWebhookEnv, type WebhookServer } from '../support/twilioWebhooks.ts';
import { contactStatusOf, statusOf, testContext } from '../scheduler/support.ts';

const TOKEN = 'url-shapes-token';

describe.each(engines)('webhook signatures against PUBLIC_URL shapes on %s', (engine) => {
  let db: Database;
  const servers: WebhookServer[] = [];
  let sid = 0;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await db?.close();
  });

  async function serve(publicUrl: string) {
    const ctx = testContext(db, twilioWebhookEnv(TOKEN, publicUrl));
    const server = await serveTwilioWebhooks(ctx);
    servers.push(server);
    return { ctx, base: server.base };
  }

  /** Signs for `signedUrl` (what Twilio was configured with) and posts to `path` on the local server. */
  const post = (base: string, path: string, signedUrl: string, params: Record<string, string>) => postSignedWebhook(base, path, params, { authToken: TOKEN, signedUrl });

  it.each([
    ['https://smsops.example.com/', 'https://smsops.example.com/twilio/inbound', '/twilio/inbound'],
    ['https://smsops.example.com:443', 'https://smsops.example.com/twilio/inbound', '/twilio/inbound'],
    ['https://smsops.example.com', 'https://smsops.example.com:443/twilio/inbound', '/twilio/inbound'],
    ['https://smsops.example.com:8443', 'https://smsops.example.com:8443/twilio/inbound', '/twilio/inbound'],
    ['https://smsops.example.com', 'https://smsops.example.com/twilio/inbound?tenant=a&x=1', '/twilio/inbound?tenant=a&x=1'],
    ['https://smsops.example.com/base', 'https://smsops.example.com/base/twilio/inbound', '/twilio/inbound'],
  ])('PUBLIC_URL %s, Twilio signs %s: accepted and the STOP recorded', async (publicUrl, signedUrl, path) => {
    const { base } = await serve(publicUrl);
    const phone = nextPhone();
    const res = await post(base, path, signedUrl, { MessageSid: `SMsig${engine}${++sid}`, From: phone, Body: 'STOP' });
    expect(res.status).toBe(200);
    expect((await contactStatusOf(db, phone))?.status).toBe('opted_out');
  });

  it('a signature for another path, another query or another port is refused', async () => {
    const { base } = await serve('https://smsops.example.com');
    const p = { MessageSid: `SMsigx${engine}`, From: nextPhone(), Body: 'START' };
    expect((await post(base, '/twilio/inbound', 'https://smsops.example.com/twilio/status', p)).status).toBe(403);
    expect((await post(base, '/twilio/inbound?tenant=a', 'https://smsops.example.com/twilio/inbound?tenant=b', p)).status).toBe(403);
    expect((await post(base, '/twilio/inbound', 'https://smsops.example.com:8443/twilio/inbound', p)).status).toBe(403);
  });

  it("status through the route: 'delivered' after 'undelivered' wins, a late 'sent' or 'failed' does not move it back", async () => {
    const { base } = await serve('https://smsops.example.com');
    const campaignId = await insertCampaign(db.pool, { name: `review-sig-status-${engine}` });
    const id = await insertMessage(db.pool, { campaignId, status: 'sent' });
    const pid = (await statusOf(db, id)).provider_message_id!;
    const status = (s: string) => post(base, '/twilio/status', 'https://smsops.example.com/twilio/status', { MessageSid: pid, MessageStatus: s });
    expect((await status('undelivered')).status).toBe(204);
    expect((await status('Delivered')).status).toBe(204);
    expect((await status('sent')).status).toBe(204);
    expect((await status('failed')).status).toBe(204);
    expect((await statusOf(db, id)).status).toBe('delivered');
  });
});
