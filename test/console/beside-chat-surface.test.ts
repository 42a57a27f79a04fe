/**
 * The console beside a chat surface. Slack needs a public URL for /slack/events, which a
 * loopback server often gets from a reverse proxy on the same machine; a proxy written like
 * nginx's default `proxy_pass http://127.0.0.1:3000;` sends `Host: 127.0.0.1:3000` upstream,
 * which the console's loopback check would trust. So beside a chat surface the console is
 * served only with CONSOLE_TOKEN, and then only to requests that carry it.
 */
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSurfaces } from '../../src/bot/index.ts';
import { ManualClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { AppContext } from '../../src/context.ts';
import type { Database } from '../../src/db/database.ts';
import { createHttpApp, listen } from '../../src/http/server.ts';
import { silentLogger } from '../../src/log.ts';
import { startSlackPeer, type SlackPeer } from '../peers/slack.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign } from '../support/fixtures.ts';
import { insertBatch } from '../console/support.ts';

/** A reverse proxy like nginx's default: forwards everything, Host set to the upstream's address. */
function startProxy(upstreamPort: number): Promise<Server> {
  const proxy = http.createServer((req, res) => {
    const up = http.request(
      { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${upstreamPort}` } },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  return new Promise((r) => proxy.listen(0, '127.0.0.1', () => r(proxy)));
}

describe.each(engines.flatMap((e) => [[e, undefined], [e, 'console-secret-token']] as const))('the console beside Slack on %s, CONSOLE_TOKEN %s', (engine, token) => {
  let db: Database;
  let peer: SlackPeer;
  let server: Server;
  let proxy: Server;
  let stop: () => Promise<void>;
  let publicBase: string;

  beforeAll(async () => {
    db = await openTestDatabase(engine);
    peer = await startSlackPeer();
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: 'secret',
      SLACK_CHANNEL_ID: 'CCAMPAIGNS',
      SLACK_APPROVER_IDS: 'UDANA',
      SLACK_API_URL: peer.apiUrl,
      PUBLIC_URL: 'https://smsops.example.com',
      ...(token && { CONSOLE_TOKEN: token }),
    });
    expect(config.http.host).toBe('127.0.0.1');
    const ctx: AppContext = { config, db, log: silentLogger, clock: new ManualClock('2026-11-23T18:00:00Z') };
    const app = createHttpApp({ db, log: silentLogger });
    const surfaces = await startSurfaces(ctx, app);
    stop = surfaces.stop;
    server = await listen(app, '127.0.0.1', 0, silentLogger);
    proxy = await startProxy((server.address() as AddressInfo).port);
    publicBase = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await stop?.();
    proxy?.closeAllConnections();
    await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await peer?.close();
    await db?.close();
  });

  it('an anonymous request through the public address cannot approve (only SLACK_APPROVER_IDS may)', async () => {
    const campaignId = await insertCampaign(db.pool, { name: `proxied-${token ? 't' : 'n'}`, status: 'draft', chatSurface: 'slack', chatChannel: 'CCAMPAIGNS' });
    const { messageIds } = await insertBatch(db.pool, campaignId, [{ name: 'Ann Lee' }]);
    const id = messageIds[0]!;
    // What anyone on the internet can send to https://smsops.example.com (here: the proxy): no cookie, no token.
    const res = await fetch(`${publicBase}/api/messages/${id}/approve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-smsops-console': '1' },
      body: JSON.stringify({ actor: 'dana', version: 1 }),
    });
    const { rows } = await db.pool.query(`SELECT status, approved_by FROM campaign_messages WHERE id = $1`, [id]);
    expect({ http: res.status, ...rows[0] }).toMatchObject({ status: 'suggested', approved_by: null });
    expect([401, 403, 404]).toContain(res.status);
  });

  it('an anonymous request through the public address cannot rewrite the text of an approved message', async () => {
    const campaignId = await insertCampaign(db.pool, { name: `proxied-edit-${token ? 't' : 'n'}`, status: 'draft', chatSurface: 'slack', chatChannel: 'CCAMPAIGNS' });
    const { messageIds } = await insertBatch(db.pool, campaignId, [{ name: 'Bo Park' }]);
    const id = messageIds[0]!;
    await db.pool.query(`UPDATE campaign_messages SET status = 'approved', approved_by = 'dana', approved_at = now() WHERE id = $1`, [id]);
    const res = await fetch(`${publicBase}/api/messages/${id}/edit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-smsops-console': '1' },
      body: JSON.stringify({ actor: 'dana', version: 1, text: 'Bean There: your account is locked, call us back today. Reply STOP to opt out' }),
    });
    const { rows } = await db.pool.query(`SELECT status, body, approved_by, edited_by FROM campaign_messages WHERE id = $1`, [id]);
    expect({ http: res.status, body: rows[0].body }).toEqual({ http: expect.any(Number), body: expect.stringContaining('we miss you') });
  });

  it('is not served at all without CONSOLE_TOKEN, and with it answers the token only', async () => {
    const page = await fetch(`${publicBase}/`);
    await page.text();
    if (!token) {
      expect(page.status).toBe(404);
      return;
    }
    expect(page.status).toBe(401);
    const campaignId = await insertCampaign(db.pool, { name: 'with-token', status: 'draft', chatSurface: 'slack', chatChannel: 'CCAMPAIGNS' });
    const { messageIds } = await insertBatch(db.pool, campaignId, [{ name: 'Cy Diaz' }]);
    const res = await fetch(`${publicBase}/api/messages/${messageIds[0]}/approve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-smsops-console': '1', authorization: `Bearer ${token}` },
      body: JSON.stringify({ actor: 'dana', version: 1 }),
    });
    await res.text();
    expect(res.status).toBe(200);
    const { rows } = await db.pool.query(`SELECT status FROM campaign_messages WHERE id = $1`, [messageIds[0]]);
    expect(rows[0].status).toBe('approved');
  });
});
