/**
 * Webhooks delivered the way real platforms deliver them under trouble: Twilio status
 * callbacks duplicated and shuffled (a final status may arrive before 'sent', twice, or
 * after another final one), inbound SMS retried with the same MessageSid and interleaved,
 * and Slack retrying an event (X-Slack-Retry-Num) and a button click arriving twice.
 * Sent concurrently against a running service; every effect must happen once.
 */
import fc from 'fast-check';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { Database } from '../../src/db/database.ts';
import { silentLogger } from '../../src/log.ts';
import { startService, type RunningService } from '../../src/main.ts';
import { openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { blockActionsPayload, slackSignatureHeaders, startSlackPeer, type SlackPeer } from '../peers/slack.ts';
import { TwilioPeer, twilioSignature } from '../peers/twilio.ts';
import { checkInvariants, expectNoViolations, peerSends } from './support/invariants.ts';

const PUBLIC_URL = 'https://smsops.example.com';
const SLACK_SECRET = 'dup-signing-secret';
const SID = 'AC00000000000000000000000000000fe5';
const TOKEN = 'dup-twilio-token';

async function inParallel<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

describe('duplicate and out-of-order webhooks', () => {
  let db: Database & { url?: string };
  let slack: SlackPeer;
  let twilio: TwilioPeer;
  let service: RunningService;
  let campaignId: number;
  let batchId: number;

  beforeAll(async () => {
    const postgres = !!process.env.TEST_DATABASE_URL;
    db = await openTestDatabase(postgres ? 'postgres' : 'pglite');
    slack = await startSlackPeer();
    twilio = await new TwilioPeer(SID, TOKEN).start();
    const dbEnv: Record<string, string> = postgres ? { DATABASE_URL: db.url! } : { SMSOPS_DATA_DIR: mkdtempSync(join(tmpdir(), 'smsops-dup-')) };
    service = await startService({
      // On the real clock: the daily summary is off, or an evening run would count its Slack post as an answer.
      config: loadConfig({
        LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0', PUBLIC_URL, ...dbEnv, DAILY_SUMMARY_AT: 'off',
        SLACK_BOT_TOKEN: 'xoxb-dup', SLACK_SIGNING_SECRET: SLACK_SECRET, SLACK_CHANNEL_ID: 'CDUP', SLACK_APPROVER_IDS: 'UDANA', SLACK_API_URL: slack.apiUrl,
        TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: TOKEN, TWILIO_MESSAGING_SERVICE_SID: 'MG0001', TWILIO_API_URL: twilio.url,
      }),
      log: silentLogger,
    });
    campaignId = await insertCampaign(service.ctx.db.pool, { name: 'dup', status: 'active', chatSurface: 'slack', chatChannel: 'CDUP' });
    const { rows } = await service.ctx.db.pool.query(`INSERT INTO batches (campaign_id, segment_spec, generator, post_state) VALUES ($1, 'all', 'templates', 'posted') RETURNING id`, [campaignId]);
    batchId = rows[0].id;
  });
  afterAll(async () => {
    await service?.stop();
    await Promise.all([slack?.close(), twilio?.stop()]);
    await db?.close();
  });

  async function twilioPost(path: string, params: Record<string, string>) {
    const res = await fetch(service.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': await twilioSignature(TOKEN, PUBLIC_URL + path, params) },
      body: new URLSearchParams(params).toString(),
    });
    await res.arrayBuffer();
    expect(res.status).toBeLessThan(300);
  }

  it('status callbacks duplicated and shuffled: one event row per status, statuses only move forward', async () => {
    const q = service.ctx.db.pool;
    const sent: { id: number; pid: string; phone: string }[] = [];
    for (let i = 0; i < 60; i++) {
      const c = await insertCustomer(q);
      const id = await insertMessage(q, { campaignId, status: 'sent', phone: c.phone, customerId: c.id });
      const { rows } = await q.query('SELECT provider_message_id FROM campaign_messages WHERE id = $1', [id]);
      sent.push({ id, pid: rows[0].provider_message_id, phone: c.phone });
    }
    const statusArb = fc.constantFrom('queued', 'sent', 'delivered', 'undelivered', 'failed');
    const scripts = fc.sample(fc.array(statusArb, { minLength: 1, maxLength: 6 }), { numRuns: sent.length, seed: 77 });
    const calls = sent.flatMap((m, i) => scripts[i]!.flatMap((s) => [{ m, s }, { m, s }])); // every callback twice
    const shuffled = fc.sample(fc.shuffledSubarray(calls, { minLength: calls.length, maxLength: calls.length }), { numRuns: 1, seed: 78 })[0]!;
    await inParallel(shuffled, 8, ({ m, s }) => twilioPost('/twilio/status', { MessageSid: m.pid, MessageStatus: s, AccountSid: SID, ...(s === 'failed' || s === 'undelivered' ? { ErrorCode: '30007' } : {}) }));

    for (const [i, m] of sent.entries()) {
      const reported = new Set(scripts[i]);
      const { rows: events } = await q.query<{ status: string }>('SELECT status FROM delivery_events WHERE provider_message_id = $1', [m.pid]);
      expect(events.map((e) => e.status).sort()).toEqual([...reported].sort());
      const { rows } = await q.query<{ status: string; version: number }>('SELECT status, version FROM campaign_messages WHERE id = $1', [m.id]);
      const finals = [...reported].filter((s) => ['delivered', 'undelivered', 'failed'].includes(s));
      // Never back to an earlier state; a final status only if one was reported; each applied at most once.
      if (finals.length) expect(finals).toContain(rows[0]!.status);
      else expect(rows[0]!.status).toBe('sent');
      expect(rows[0]!.version - 1).toBeLessThanOrEqual(finals.length);
    }
    const report = await checkInvariants(q, {
      config: service.ctx.config, campaignIds: [campaignId], windows: false, caps: false,
      sends: sent.map((m) => ({ sid: m.pid, to: m.phone, body: 'Hi! We miss you. Reply STOP to opt out', at: new Date() })),
    });
    expectNoViolations(report, sent.length);
    console.log(`[faults] status callbacks: ${shuffled.length} deliveries (each twice, shuffled, 8 at a time); checked ${report.checked}`);
  });

  it('inbound SMS retried and interleaved: each handled once, STOP cancels pending messages, no thread post twice', async () => {
    const q = service.ctx.db.pool;
    const phones: string[] = [];
    const pending: number[] = [];
    const pendingCampaigns: number[] = [];
    for (let i = 0; i < 20; i++) {
      const c = await insertCustomer(q);
      phones.push(c.phone);
      await q.query('UPDATE campaign_messages SET sent_at = now() WHERE id = $1', [await insertMessage(q, { campaignId, batchId, status: 'sent', phone: c.phone, customerId: c.id })]);
      const other = await insertCampaign(q, { name: `dup-pending-${i}`, status: 'paused' });
      pendingCampaigns.push(other);
      pending.push(await insertMessage(q, { campaignId: other, status: 'approved', phone: c.phone, customerId: c.id, scheduledAt: new Date(Date.now() + 86_400_000) }));
    }
    const inbound = phones.flatMap((phone, i) => [
      { MessageSid: `SMdupin${i}a`, From: phone, To: '+14155550100', Body: 'Thanks! What time do you open?', AccountSid: SID },
      { MessageSid: `SMdupin${i}b`, From: phone, To: '+14155550100', Body: i % 2 ? 'STOP' : 'unsubscribe please', AccountSid: SID },
    ]);
    const deliveries = fc.sample(fc.shuffledSubarray([...inbound, ...inbound, ...inbound], { minLength: inbound.length * 3, maxLength: inbound.length * 3 }), { numRuns: 1, seed: 91 })[0]!;
    await inParallel(deliveries, 6, (p) => twilioPost('/twilio/inbound', p));

    const { rows: stored } = await q.query<{ provider_message_id: string; n: number }>(
      `SELECT provider_message_id, count(*)::int AS n FROM inbound_messages WHERE provider_message_id LIKE 'SMdupin%' GROUP BY 1`,
    );
    expect(stored).toHaveLength(inbound.length);
    expect(stored.every((r) => r.n === 1)).toBe(true);
    // Every odd phone sent STOP: its pending message in another campaign is cancelled; the rest stay approved.
    for (const [i, id] of pending.entries()) {
      const { rows } = await q.query('SELECT status FROM campaign_messages WHERE id = $1', [id]);
      expect([i, rows[0].status]).toEqual([i, i % 2 ? 'cancelled' : 'approved']);
    }
    const { rows: posts } = await q.query<{ n: number; keys: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT dedupe_key)::int AS keys FROM chat_outbox WHERE kind = 'thread'`,
    );
    expect(posts[0]!.n).toBe(posts[0]!.keys);
    expect(posts[0]!.n).toBeGreaterThanOrEqual(inbound.length);
    const report = await checkInvariants(q, { config: service.ctx.config, sends: [], settled: false, windows: false, caps: false, campaignIds: pendingCampaigns });
    expectNoViolations(report, pending.length);
    console.log(`[faults] inbound: ${deliveries.length} deliveries of ${inbound.length} SMS (each three times, shuffled); checked ${report.checked}`);
  });

  it('Slack retries (X-Slack-Retry-Num) and double clicks act once and answer once', async () => {
    const q = service.ctx.db.pool;
    const c = await insertCustomer(q);
    const clickCampaign = await insertCampaign(q, { name: 'dup-click', status: 'active', chatSurface: 'slack', chatChannel: 'CDUP' });
    const id = await insertMessage(q, { campaignId: clickCampaign, status: 'suggested', phone: c.phone, customerId: c.id });
    const post = async (raw: string, type: string, retry?: number) => {
      const res = await fetch(`${service.url}/slack/events`, {
        method: 'POST',
        headers: { 'content-type': type, ...slackSignatureHeaders(SLACK_SECRET, raw), ...(retry ? { 'x-slack-retry-num': String(retry), 'x-slack-retry-reason': 'http_timeout' } : {}) },
        body: raw,
      });
      await res.text();
      return res.status;
    };
    const click = new URLSearchParams(blockActionsPayload({ user: { id: 'UDANA', name: 'dana' }, actionId: 'card_approve', value: `${id}:1`, channel: 'CDUP', messageTs: '2.000001', responseUrl: slack.responseUrl() })).toString();
    const statuses = await Promise.all([post(click, 'application/x-www-form-urlencoded'), post(click, 'application/x-www-form-urlencoded')]);
    expect(statuses).toEqual([200, 200]);
    const approvals = async () => Number((await q.query(`SELECT count(*)::int AS n FROM audit_log WHERE entity_id = $1 AND action = 'approved'`, [String(id)])).rows[0].n);
    for (let i = 0; i < 50 && (await approvals()) === 0; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    expect(await approvals()).toBe(1);

    const before = slack.calls.length;
    const event = JSON.stringify({
      token: 'x', team_id: 'T1', api_app_id: 'A1', type: 'event_callback', event_id: 'EvDUP000001', event_time: Math.floor(Date.now() / 1000),
      event: { type: 'app_mention', user: 'UDANA', text: '<@UBOT> status dup', ts: '3.000001', channel: 'CDUP', event_ts: '3.000001' },
    });
    for (const retry of [undefined, 1, 2]) expect(await post(event, 'application/json', retry)).toBe(200);
    const answers = () => slack.calls.slice(before).filter((call) => ['chat.postMessage', 'chat.postEphemeral'].includes(call.method));
    // Wait for the answer (a slow machine may take a while), then leave room for a wrongly repeated one.
    for (let i = 0; i < 100 && answers().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    expect(answers()).toHaveLength(1);

    // Approved inside business hours (on the real clock), the message may already have gone: the peer's list is what was sent.
    const report = await checkInvariants(q, { config: service.ctx.config, sends: peerSends(twilio.messages), settled: false, windows: false, caps: false, campaignIds: [clickCampaign] });
    expectNoViolations(report);
  });
});
