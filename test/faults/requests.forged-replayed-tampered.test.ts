/**
 * Forged, replayed and tampered requests on every inbound endpoint of a running service
 * (`startService`, everything configured against the local peers): POST /slack/events,
 * /twilio/inbound, /twilio/status, /discord/interactions, and the console API of a
 * second service bound beyond loopback with CONSOLE_TOKEN. Each must be refused (401/403)
 * and write nothing: the row count of every table and a fingerprint of every message's
 * state are compared before and after. A correctly signed control request per endpoint
 * then proves the endpoints were live.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { Database, Queryable } from '../../src/db/database.ts';
import { silentLogger } from '../../src/log.ts';
import { startService, type RunningService } from '../../src/main.ts';
import { openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { APP_ID, CHANNEL_ID, buttonClick, rawPublicKeyHex } from '../discord/harness.ts';
import { startDiscordPeer, type DiscordPeer } from '../peers/discord.ts';
import { blockActionsPayload, slackSignatureHeaders, startSlackPeer, type SlackPeer } from '../peers/slack.ts';
import { TwilioPeer, twilioSignature } from '../peers/twilio.ts';
import { checkInvariants, expectNoViolations, peerSends } from './support/invariants.ts';

const PUBLIC_URL = 'https://smsops.example.com';
const SLACK_SECRET = 'abuse-signing-secret';
const TWILIO_SID = 'AC00000000000000000000000000000fd4';
const TWILIO_TOKEN = 'abuse-twilio-token';
const CONSOLE_TOKEN = 'abuse-console-token-0123456789';

/** Row counts of every table, plus a fingerprint of every message's and contact's state. */
async function snapshot(q: Queryable): Promise<Record<string, string | number>> {
  const { rows: tables } = await q.query<{ name: string }>(
    `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`,
  );
  const out: Record<string, string | number> = {};
  for (const t of tables) out[t.name] = Number((await q.query(`SELECT count(*)::int AS n FROM "${t.name}"`)).rows[0].n);
  out.messages = String((await q.query(`SELECT md5(coalesce(string_agg(id || ':' || status || ':' || version || ':' || body, ',' ORDER BY id), '')) AS h FROM campaign_messages`)).rows[0].h);
  out.contacts = String((await q.query(`SELECT md5(coalesce(string_agg(phone || ':' || status, ',' ORDER BY phone), '')) AS h FROM contact_status`)).rows[0].h);
  out.campaigns = String((await q.query(`SELECT md5(coalesce(string_agg(id || ':' || status || ':' || settings::text, ',' ORDER BY id), '')) AS h FROM campaigns`)).rows[0].h);
  return out;
}

describe('forged, replayed and tampered requests write nothing', () => {
  let db: Database & { url?: string };
  let slack: SlackPeer;
  let discord: DiscordPeer;
  let twilio: TwilioPeer;
  let main: RunningService;
  let consoleService: RunningService;
  const discordKeys = generateKeyPairSync('ed25519');
  const strangerKeys = generateKeyPairSync('ed25519');
  let suggested: number[];
  let sent: { id: number; pid: string; phone: string };

  beforeAll(async () => {
    const postgres = !!process.env.TEST_DATABASE_URL;
    db = await openTestDatabase(postgres ? 'postgres' : 'pglite');
    slack = await startSlackPeer();
    discord = await startDiscordPeer();
    twilio = await new TwilioPeer(TWILIO_SID, TWILIO_TOKEN).start();
    // The service opens the database itself: the test's copy on PostgreSQL, else an embedded one on disk.
    const dbEnv: Record<string, string> = postgres ? { DATABASE_URL: db.url! } : { SMSOPS_DATA_DIR: mkdtempSync(join(tmpdir(), 'smsops-abuse-')) };
    // The services run on the real clock: the daily summary is off, or an evening run would see its post as a write.
    const config = loadConfig({
      LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0', PUBLIC_URL, ...dbEnv, DAILY_SUMMARY_AT: 'off',
      SLACK_BOT_TOKEN: 'xoxb-abuse', SLACK_SIGNING_SECRET: SLACK_SECRET, SLACK_CHANNEL_ID: 'CABUSE', SLACK_APPROVER_IDS: 'UDANA', SLACK_API_URL: slack.apiUrl,
      DISCORD_TOKEN: discord.token, DISCORD_APPLICATION_ID: APP_ID, DISCORD_CHANNEL_ID: CHANNEL_ID, DISCORD_PUBLIC_KEY: rawPublicKeyHex(discordKeys.publicKey), DISCORD_API_URL: discord.api,
      TWILIO_ACCOUNT_SID: TWILIO_SID, TWILIO_AUTH_TOKEN: TWILIO_TOKEN, TWILIO_MESSAGING_SERVICE_SID: 'MG0001', TWILIO_API_URL: twilio.url,
    });
    main = await startService({ config, log: silentLogger });
    if (postgres) {
      consoleService = await startService({
        config: loadConfig({ LOG_LEVEL: 'silent', HOST: '0.0.0.0', PORT: '0', CONSOLE_TOKEN, DATABASE_URL: db.url!, DAILY_SUMMARY_AT: 'off' }),
        log: silentLogger,
      });
    }
    const q = main.ctx.db.pool;
    // Paused: the control click below approves a message, which must not go out on the real clock while the invariants are read.
    const campaignId = await insertCampaign(q, { name: 'abuse', status: 'paused', chatSurface: 'slack', chatChannel: 'CABUSE' });
    suggested = [];
    for (let i = 0; i < 3; i++) {
      const c = await insertCustomer(q);
      suggested.push(await insertMessage(q, { campaignId, status: 'suggested', phone: c.phone, customerId: c.id }));
    }
    const c = await insertCustomer(q);
    const id = await insertMessage(q, { campaignId, status: 'sent', phone: c.phone, customerId: c.id });
    const { rows } = await q.query('SELECT provider_message_id FROM campaign_messages WHERE id = $1', [id]);
    sent = { id, pid: rows[0].provider_message_id, phone: c.phone };
  });
  afterAll(async () => {
    await consoleService?.stop();
    await main?.stop();
    await Promise.all([slack?.close(), discord?.close(), twilio?.stop()]);
    await db?.close();
  });

  const slackForm = () =>
    new URLSearchParams(blockActionsPayload({ user: { id: 'UDANA', name: 'dana' }, actionId: 'card_approve', value: `${suggested[0]}:1`, channel: 'CABUSE', messageTs: '1.000001', responseUrl: slack.responseUrl() })).toString();
  async function slackPost(raw: string, headers: Record<string, string>) {
    const res = await fetch(`${main.url}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: raw });
    return res.status;
  }
  async function twilioPost(path: string, params: Record<string, string>, signature: string | null, body = new URLSearchParams(params).toString()) {
    const res = await fetch(main.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(signature === null ? {} : { 'x-twilio-signature': signature }) },
      body,
    });
    return res.status;
  }
  async function discordPost(body: string, o: { key?: typeof strangerKeys.privateKey; tamper?: boolean; none?: boolean; timestamp?: string } = {}) {
    const timestamp = o.timestamp ?? String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-signature-timestamp': timestamp };
    if (!o.none) headers['x-signature-ed25519'] = sign(null, Buffer.from(timestamp + body), o.key ?? discordKeys.privateKey).toString('hex');
    const res = await fetch(`${main.url}/discord/interactions`, { method: 'POST', headers, body: o.tamper ? body.replace(`approve:${suggested[0]}:1`, `approve:${suggested[1]}:1`) : body });
    return res.status;
  }

  it('every endpoint refuses every forged, replayed or tampered request, and nothing is written', async () => {
    const q = main.ctx.db.pool;
    const before = await snapshot(q);
    const attempts: { what: string; status: number }[] = [];
    const note = (what: string, status: number) => attempts.push({ what, status });

    // Slack: wrong secret, a correctly signed request replayed 6 minutes later, a tampered body, no signature.
    const raw = slackForm();
    note('slack: forged signature', await slackPost(raw, slackSignatureHeaders('not-the-secret', raw)));
    const old = Math.floor(Date.now() / 1000) - 6 * 60;
    note('slack: replayed (6 min old)', await slackPost(raw, slackSignatureHeaders(SLACK_SECRET, raw, old)));
    note('slack: replayed with X-Slack-Retry-Num', await slackPost(raw, { ...slackSignatureHeaders(SLACK_SECRET, raw, old), 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' }));
    const signed = slackSignatureHeaders(SLACK_SECRET, raw);
    note('slack: tampered body', await slackPost(raw.replace(encodeURIComponent(String(suggested[0])), encodeURIComponent(String(suggested[1]))), signed));
    note('slack: no signature', await slackPost(raw, {}));
    const command = new URLSearchParams({ command: '/campaign', text: 'cancel abuse', user_id: 'UDANA', user_name: 'dana', channel_id: 'CABUSE', response_url: slack.responseUrl(), team_id: 'T1', trigger_id: '1.2' }).toString();
    note('slack: forged slash command', await slackPost(command, slackSignatureHeaders('not-the-secret', command)));

    // Twilio: a STOP and a status callback, forged, tampered, unsigned, and signed for the other endpoint.
    const stop = { MessageSid: 'SMabuse000001', From: sent.phone, To: '+14155550100', Body: 'STOP', AccountSid: TWILIO_SID };
    const status = { MessageSid: sent.pid, MessageStatus: 'failed', ErrorCode: '30007', AccountSid: TWILIO_SID };
    note('twilio inbound: forged', await twilioPost('/twilio/inbound', stop, await twilioSignature('wrong-token', PUBLIC_URL + '/twilio/inbound', stop)));
    const goodStop = await twilioSignature(TWILIO_TOKEN, PUBLIC_URL + '/twilio/inbound', stop);
    note('twilio inbound: tampered', await twilioPost('/twilio/inbound', { ...stop, From: '+14155559999' }, goodStop));
    note('twilio inbound: unsigned', await twilioPost('/twilio/inbound', stop, null));
    note('twilio inbound: signed for another URL', await twilioPost('/twilio/inbound', stop, await twilioSignature(TWILIO_TOKEN, 'https://evil.example.com/twilio/inbound', stop)));
    note('twilio status: forged', await twilioPost('/twilio/status', status, await twilioSignature('wrong-token', PUBLIC_URL + '/twilio/status', status)));
    note('twilio status: tampered', await twilioPost('/twilio/status', { ...status, MessageStatus: 'undelivered' }, await twilioSignature(TWILIO_TOKEN, PUBLIC_URL + '/twilio/status', status)));
    note('twilio status: the inbound signature replayed', await twilioPost('/twilio/status', stop, goodStop));

    // Discord: signed by a stranger's key, tampered after signing, unsigned, stale signature timestamp.
    const click = JSON.stringify(buttonClick(`approve:${suggested[0]}:1`, { messageId: '1300000000000000001', channelId: CHANNEL_ID }));
    note('discord: stranger key', await discordPost(click, { key: strangerKeys.privateKey }));
    note('discord: tampered', await discordPost(click, { tamper: true }));
    note('discord: unsigned', await discordPost(click, { none: true }));

    // Console beyond loopback: no token, a wrong one, the right one without the change header, a foreign origin.
    if (consoleService) {
      const base = consoleService.url.replace('0.0.0.0', '127.0.0.1');
      const approve = `${base}/api/messages/${suggested[0]}/approve`;
      const hdr = { 'content-type': 'application/json', 'x-smsops-console': '1' };
      const consolePost = async (url: string, headers: Record<string, string>, body = '{}') => (await fetch(url, { method: 'POST', headers, body })).status;
      note('console: no token', await consolePost(approve, hdr));
      note('console: wrong bearer', await consolePost(approve, { ...hdr, authorization: 'Bearer wrong' }));
      note('console: wrong token link', await consolePost(`${approve}?token=wrong`, hdr));
      note('console: token without change header', await consolePost(approve, { 'content-type': 'application/json', authorization: `Bearer ${CONSOLE_TOKEN}` }));
      note('console: foreign origin', await consolePost(approve, { ...hdr, authorization: `Bearer ${CONSOLE_TOKEN}`, origin: 'https://evil.example.com' }));
      note('console: STOP reply without token', await consolePost(`${base}/api/phones/${encodeURIComponent(sent.phone)}/reply`, hdr, JSON.stringify({ body: 'STOP' })));
      note('console: command without token', await consolePost(`${base}/api/command`, hdr, JSON.stringify({ text: 'cancel abuse' })));
    }

    const refused = attempts.filter((a) => a.status === 401 || a.status === 403);
    expect(attempts.filter((a) => !refused.includes(a))).toEqual([]);
    // Give any (wrongly) accepted background work a moment to land before comparing.
    await new Promise((r) => setTimeout(r, 300));
    expect(await snapshot(q)).toEqual(before);

    // Controls: the same requests, correctly signed, do act (the endpoints were live).
    expect(await twilioPost('/twilio/status', { ...status, MessageStatus: 'delivered' }, await twilioSignature(TWILIO_TOKEN, PUBLIC_URL + '/twilio/status', { ...status, MessageStatus: 'delivered' }))).toBe(204);
    expect(await slackPost(raw, slackSignatureHeaders(SLACK_SECRET, raw))).toBe(200);
    const after = await snapshot(q);
    expect(after.delivery_events).toBe(Number(before.delivery_events) + 1);
    expect(after.audit_log).toBeGreaterThan(Number(before.audit_log));

    const report = await checkInvariants(q, { config: main.ctx.config, sends: [...peerSends(twilio.messages), { sid: sent.pid, to: sent.phone, body: 'Hi! We miss you. Reply STOP to opt out', at: new Date() }], settled: false, windows: false });
    expectNoViolations(report);
    console.log(`[faults] abuse: ${attempts.length} forged/replayed/tampered requests on ${consoleService ? 5 : 4} endpoints, all refused, 0 rows written; checked ${report.checked}`);
  });
});
