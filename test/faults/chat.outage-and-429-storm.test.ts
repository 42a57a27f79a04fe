/**
 * Slack and Discord down for "minutes", then a storm of 429s: the chat outbox keeps every
 * batch, card and thread post, and each arrives exactly once afterwards. Minutes are not
 * waited for: between delivery rounds the test fast-forwards the outbox's backoff (moves
 * next_attempt_at of pending rows to now), which is what the passing of that time does.
 * Slack is taken down by its peer (503s, then refused connections); Discord through a
 * proxy in front of its peer that answers 503 while down. Slack also takes posts and loses
 * the answers (it has no idempotency key): each is looked for before it is tried again.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscord } from '../../src/bot/discord/index.ts';
import { startChatOutbox } from '../../src/bot/outbox.ts';
import { systemClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { AppContext } from '../../src/context.ts';
import type { Database, Queryable } from '../../src/db/database.ts';
import { enqueueChatPosts } from '../../src/db/queries/outbox.ts';
import { silentLogger } from '../../src/log.ts';
import { openTestDatabase } from '../support/db.ts';
import { insertCustomer } from '../support/fixtures.ts';
import { APP_ID, CHANNEL_ID } from '../discord/harness.ts';
import { startDiscordPeer, type DiscordPeer } from '../peers/discord.ts';
import { CHANNEL, startSlackHarness, type SlackHarness } from '../slack/support.ts';
import { checkInvariants, expectNoViolations } from './support/invariants.ts';
import { waitUntil } from './support/harness.ts';

const engine = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';
const CARDS = 40;
const THREAD_POSTS = 30;

/** A batch of suggestions on `surface` with its post and `THREAD_POSTS` thread posts enqueued. */
async function seedChatBatch(q: Queryable, surface: 'slack' | 'discord', channel: string, name: string): Promise<{ campaignId: number; batchId: number }> {
  const { rows: c } = await q.query<{ id: number }>(
    `INSERT INTO campaigns (name, status, chat_surface, chat_channel) VALUES ($1, 'active', $2, $3) RETURNING id`, [name, surface, channel],
  );
  const campaignId = c[0]!.id;
  const { rows: b } = await q.query<{ id: number }>(
    `INSERT INTO batches (campaign_id, segment_spec, generator, suggestion_count) VALUES ($1, 'all', 'templates', $2) RETURNING id`, [campaignId, CARDS],
  );
  const batchId = b[0]!.id;
  for (let i = 0; i < CARDS; i++) {
    const cu = await insertCustomer(q, { name: `Chat ${i}` });
    await q.query(`INSERT INTO campaign_messages (campaign_id, batch_id, customer_id, phone, body) VALUES ($1, $2, $3, $4, $5)`, [
      campaignId, batchId, cu.id, cu.phone, `Hi Chat ${i}, we miss you at Bloom Bakery! Reply STOP to opt out`,
    ]);
  }
  await enqueueChatPosts(q, [
    { surface, kind: 'batch', dedupeKey: `batch:${batchId}`, batchId, payload: { batchId } },
    ...Array.from({ length: THREAD_POSTS }, (_, i) => ({
      surface, kind: 'thread' as const, dedupeKey: `fault:${name}:${i}`, batchId,
      payload: { batchId, message: { text: `fault-thread-${name}-${i} replied` } },
    })),
  ]);
  return { campaignId, batchId };
}

async function outboxState(q: Queryable, batchId: number): Promise<Record<string, number>> {
  const { rows } = await q.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM chat_outbox WHERE batch_id = $1 GROUP BY status`, [batchId]);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Delivery attempts on the batch's outbox rows so far: one more per round that tried them. */
async function attemptsOf(q: Queryable, batchId: number): Promise<number> {
  const { rows } = await q.query<{ n: number }>(`SELECT coalesce(sum(attempts), 0)::int AS n FROM chat_outbox WHERE batch_id = $1`, [batchId]);
  return rows[0]!.n;
}

/** What the passage of time does to the outbox's backoff. */
async function fastForward(q: Queryable, batchId: number): Promise<void> {
  await q.query(`UPDATE chat_outbox SET next_attempt_at = now() WHERE batch_id = $1 AND status = 'pending'`, [batchId]);
}

/** Rounds of delivery, the backoff fast-forwarded, until the batch and its thread posts are all delivered. */
async function deliverEverything(q: Queryable, outbox: { wake(): void }, batchId: number, surface: string, timeoutMs = 90_000): Promise<void> {
  await waitUntil(async () => {
    await fastForward(q, batchId);
    outbox.wake();
    const s = await outboxState(q, batchId);
    return !s.pending && (s.done ?? 0) === THREAD_POSTS + 1;
  }, timeoutMs, `every ${surface} post delivered`);
}

/** Counts of each marker among the texts a peer accepted. */
function occurrences(texts: string[], marker: (i: number) => string, n: number): number[] {
  return Array.from({ length: n }, (_, i) => texts.filter((t) => t.includes(marker(i))).length);
}

describe(`chat outages and 429 storms on ${engine}`, () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
  });
  afterAll(() => db?.close());

  it('Slack down (503, then refused) through many backoff rounds, then 429s: every post once', async () => {
    const h: SlackHarness = await startSlackHarness(db);
    try {
      await h.peer.setDown('503');
      const { campaignId, batchId } = await seedChatBatch(db.pool, 'slack', CHANNEL, 'slack-out');
      let rounds = 0;
      for (; rounds < 12; rounds++) {
        if (rounds === 6) await h.peer.setDown('refused');
        await h.outbox.idle(); // nothing in flight: a round's failure would otherwise undo the fast-forward below
        const tried = await attemptsOf(db.pool, batchId);
        await fastForward(db.pool, batchId);
        await h.outbox.idle(); // a round that tried the due posts, then one that found nothing due
        expect(await attemptsOf(db.pool, batchId)).toBeGreaterThan(tried);
      }
      expect((await outboxState(db.pool, batchId)).done ?? 0).toBe(0);
      await h.peer.setDown(false);
      h.peer.rateLimit('chat.postMessage', 12, 1);
      h.peer.rateLimit('chat.update', 5, 1);
      await deliverEverything(db.pool, h.outbox, batchId, 'Slack');
      expect(await outboxState(db.pool, batchId)).toEqual({ done: THREAD_POSTS + 1 });

      const texts = h.peer.callsTo('chat.postMessage').map((c) => JSON.stringify(c.body));
      expect(occurrences(texts, (i) => `fault-thread-slack-out-${i} replied`, THREAD_POSTS)).toEqual(Array(THREAD_POSTS).fill(1));
      expect(occurrences(texts, (i) => `Hi Chat ${i}, we miss`, CARDS)).toEqual(Array(CARDS).fill(1));
      expect(h.peer.calls.filter((c) => c.method.endsWith('#429')).length).toBeGreaterThan(0);

      const report = await checkInvariants(db.pool, { config: h.ctx.config, sends: [], settled: false, campaignIds: [campaignId] });
      expectNoViolations(report, CARDS);
      console.log(`[faults] slack: ${rounds} delivery rounds down (503 + refused) + 17 scripted 429s; ${THREAD_POSTS} thread posts and ${CARDS} cards each delivered once; checked ${report.checked}`);
    } finally {
      await h.close();
    }
  });

  it('Slack takes posts and the answers are lost (the connection drops) 20 times: every post once', async () => {
    const h: SlackHarness = await startSlackHarness(db);
    try {
      const LOST = 20;
      h.peer.loseAnswers(LOST);
      const { campaignId, batchId } = await seedChatBatch(db.pool, 'slack', CHANNEL, 'slack-lost');
      await deliverEverything(db.pool, h.outbox, batchId, 'Slack');

      const texts = h.peer.callsTo('chat.postMessage').map((c) => JSON.stringify(c.body));
      expect(occurrences(texts, (i) => `fault-thread-slack-lost-${i} replied`, THREAD_POSTS)).toEqual(Array(THREAD_POSTS).fill(1));
      expect(occurrences(texts, (i) => `Hi Chat ${i}, we miss`, CARDS)).toEqual(Array(CARDS).fill(1));
      const looks = h.peer.callsTo('conversations.replies').length + h.peer.callsTo('conversations.history').length;
      expect(looks).toBeGreaterThanOrEqual(LOST);
      const report = await checkInvariants(db.pool, { config: h.ctx.config, sends: [], settled: false, campaignIds: [campaignId] });
      expectNoViolations(report, CARDS);
      console.log(`[faults] slack: ${LOST} posts taken with their answers lost; ${looks} looks; ${THREAD_POSTS} thread posts and ${CARDS} cards each posted once`);
    } finally {
      await h.close();
    }
  });

  it('Discord down (503 through a proxy) through many backoff rounds, then 429s: every post once', async () => {
    const peer: DiscordPeer = await startDiscordPeer();
    let down = true;
    const proxy: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        if (down) {
          res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Service Unavailable', code: 0 }));
          return;
        }
        const upstream = await fetch(peer.api.replace(/\/api$/, '') + req.url, {
          method: req.method,
          headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k)).map(([k, v]) => [k, String(v)])),
          ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body: Buffer.concat(chunks) }),
        });
        const headers: Record<string, string> = {};
        upstream.headers.forEach((v, k) => {
          if (!['content-length', 'transfer-encoding', 'connection', 'content-encoding'].includes(k)) headers[k] = v;
        });
        res.writeHead(upstream.status, headers).end(Buffer.from(await upstream.arrayBuffer()));
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyApi = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/api`;
    const config = loadConfig({
      LOG_LEVEL: 'silent', DISCORD_TOKEN: peer.token, DISCORD_APPLICATION_ID: APP_ID, DISCORD_CHANNEL_ID: CHANNEL_ID,
      DISCORD_PUBLIC_KEY: '0'.repeat(64), DISCORD_API_URL: proxyApi, RECIPIENT_QUIET_HOURS: 'off',
    });
    const ctx: AppContext = { config, db, log: silentLogger, clock: systemClock };
    const discord = await startDiscord(ctx, express());
    const outbox = startChatOutbox(ctx, new Map([['discord', discord.surface]]), { pollMs: 50 });
    try {
      const { campaignId, batchId } = await seedChatBatch(db.pool, 'discord', CHANNEL_ID, 'discord-out');
      let rounds = 0;
      for (; rounds < 8; rounds++) {
        await outbox.idle(); // as above
        const tried = await attemptsOf(db.pool, batchId);
        await fastForward(db.pool, batchId);
        await outbox.idle();
        expect(await attemptsOf(db.pool, batchId)).toBeGreaterThan(tried);
      }
      expect((await outboxState(db.pool, batchId)).done ?? 0).toBe(0);
      down = false;
      peer.rateLimit({ method: 'POST', path: /\/channels\/\d+\/messages$/, times: 10, retryAfterSeconds: 0.2 });
      await deliverEverything(db.pool, outbox, batchId, 'Discord', 60_000).catch(async (e) => {
        const { rows } = await db.pool.query(`SELECT kind, status, attempts, last_error FROM chat_outbox WHERE batch_id = $1 AND status <> 'done' ORDER BY kind LIMIT 3`, [batchId]);
        throw new Error(`${e}: ${JSON.stringify(rows)}; calls ${JSON.stringify(peer.calls.slice(-3).map((c) => [c.method, c.path, c.status]))}`);
      });
      expect(await outboxState(db.pool, batchId)).toEqual({ done: THREAD_POSTS + 1 });

      const created = peer.calls.filter((c) => c.method === 'POST' && /\/messages$/.test(c.path) && c.status >= 200 && c.status < 300).map((c) => JSON.stringify(c.body));
      expect(occurrences(created, (i) => `fault-thread-discord-out-${i} replied`, THREAD_POSTS)).toEqual(Array(THREAD_POSTS).fill(1));
      // Cards are packed several per message; each card's text appears in exactly one created message.
      expect(occurrences(created, (i) => `Hi Chat ${i}, we miss`, CARDS)).toEqual(Array(CARDS).fill(1));
      expect(peer.calls.filter((c) => c.status === 429).length).toBeGreaterThan(0);

      const report = await checkInvariants(db.pool, { config, sends: [], settled: false, campaignIds: [campaignId] });
      expectNoViolations(report, CARDS);
      console.log(`[faults] discord: ${rounds} delivery rounds down (503) + 10 scripted 429s; ${THREAD_POSTS} thread posts and ${CARDS} cards each delivered once; checked ${report.checked}`);
    } finally {
      await outbox.stop();
      await discord.stop();
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
      await peer.close();
    }
  });
});
