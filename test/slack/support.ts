/** A running Slack surface (Bolt on an express app) against the local Slack peer, plus batch fixtures. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { startChatOutbox, type ChatOutboxWorker } from '../../src/bot/outbox.ts';
import { createSlackSurface } from '../../src/bot/slack/index.ts';
import { ManualClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { AppContext } from '../../src/context.ts';
import type { Database, Queryable } from '../../src/db/database.ts';
import { enqueueChatPosts } from '../../src/db/queries/outbox.ts';
import { silentLogger } from '../../src/log.ts';
import { insertCustomer } from '../support/fixtures.ts';
import { startSlackPeer, type SlackPeer } from '../peers/slack.ts';

export const SECRET = 'test-signing-secret';
export const CHANNEL = 'CCAMPAIGNS';
export const DANA = { id: 'UDANA', name: 'dana' };
export const LEE = { id: 'ULEE', name: 'lee' };
export const MALLORY = { id: 'UMALLORY', name: 'mallory' };

export interface SlackHarness {
  ctx: AppContext;
  peer: SlackPeer;
  eventsUrl: string;
  outbox: ChatOutboxWorker;
  close(): Promise<void>;
}

export async function startSlackHarness(db: Database, opts: { outbox?: boolean } = {}): Promise<SlackHarness> {
  const peer = await startSlackPeer();
  const config = loadConfig({
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_CHANNEL_ID: CHANNEL,
    SLACK_APPROVER_IDS: `${DANA.id},${LEE.id}`,
    SLACK_API_URL: peer.apiUrl,
    RECIPIENT_QUIET_HOURS: 'off',
  });
  const ctx: AppContext = { config, db, log: silentLogger, clock: new ManualClock('2026-11-23T18:00:00Z') };
  const app = express();
  const slack = await createSlackSurface(ctx, app, { postIntervalMs: 0, retryConfig: { retries: 2, factor: 1, minTimeout: 20, maxTimeout: 50 } });
  const server: Server = await new Promise((r) => {
    const s = app.listen(0, '127.0.0.1', () => r(s));
  });
  const outbox = opts.outbox === false
    ? { wake() {}, idle: () => Promise.reject(new Error('this harness runs no chat outbox worker')), async stop() {} }
    : startChatOutbox(ctx, new Map([['slack', slack.surface]]), { pollMs: 50 });
  return {
    ctx,
    peer,
    eventsUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`,
    outbox,
    async close() {
      await outbox.stop();
      await slack.stop();
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await peer.close();
    },
  };
}

/** A campaign on Slack with one batch of `n` suggestions, its post enqueued as the generator does. */
export async function seedSlackBatch(
  q: Queryable,
  a: { campaign: string; n: number; status?: string; lintError?: number[]; customerName?: (i: number) => string },
): Promise<{ campaignId: number; batchId: number; messageIds: number[] }> {
  const { rows: c } = await q.query<{ id: number }>(
    `INSERT INTO campaigns (name, status, chat_surface, chat_channel) VALUES ($1, $2, 'slack', $3) RETURNING id`,
    [a.campaign, a.status ?? 'draft', CHANNEL],
  );
  const campaignId = c[0]!.id;
  const { rows: b } = await q.query<{ id: number }>(
    `INSERT INTO batches (campaign_id, segment_spec, generator, suggestion_count, lint_finding_count, estimated_cost_usd)
     VALUES ($1, 'lapsed:60', 'templates', $2, 0, $3) RETURNING id`,
    [campaignId, a.n, a.n * 0.0083],
  );
  const batchId = b[0]!.id;
  const messageIds: number[] = [];
  for (let i = 0; i < a.n; i++) {
    const cu = await insertCustomer(q, { name: a.customerName?.(i) ?? `Customer ${i + 1}`, lastVisit: '2026-09-01' });
    const lint = a.lintError?.includes(i) ? [{ rule: 'banned_word', severity: 'error', message: 'Contains a banned word: "winner"' }] : [];
    const { rows } = await q.query<{ id: number }>(
      `INSERT INTO campaign_messages (campaign_id, batch_id, customer_id, phone, body, customer_context, rationale, lint)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
      [
        campaignId, batchId, cu.id, cu.phone,
        `Hi Customer ${i + 1}, we miss you at Bloom Bakery! 10% off your next visit this week. Reply STOP to opt out`,
        JSON.stringify({ last_visit: '2026-09-01', visits: 7, favorite_category: 'pastries' }),
        'Lapsed regular: last visit 83 days ago',
        JSON.stringify(lint),
      ],
    );
    messageIds.push(rows[0]!.id);
  }
  await enqueueChatPosts(q, [{ surface: 'slack', kind: 'batch', dedupeKey: `batch:${batchId}`, batchId, payload: { batchId } }]);
  return { campaignId, batchId, messageIds };
}

/** Polls until `check` passes (outbox delivery is asynchronous). */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 15_000): Promise<T> {
  const start = Date.now();
  let last: unknown;
  while (Date.now() - start < timeoutMs) {
    try {
      return await check();
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 40));
    }
  }
  throw last;
}

/**
 * The value of button `actionId` as Slack last showed it (posted or updated) among buttons
 * whose value names `id` (a card's message id, or a batch id for the header buttons):
 * what a click on the screen as it is now sends back.
 */
export function shownValue(peer: SlackPeer, actionId: string, id: number): string {
  let found: string | undefined;
  for (const call of peer.calls) {
    if (call.method !== 'chat.postMessage' && call.method !== 'chat.update') continue;
    for (const block of (call.body.blocks ?? []) as { type: string; elements?: { action_id?: string; value?: string }[] }[]) {
      for (const e of block.type === 'actions' ? (block.elements ?? []) : []) {
        if (e.action_id === actionId && (e.value === String(id) || e.value?.startsWith(`${id}:`))) found = e.value;
      }
    }
  }
  if (found === undefined) throw new Error(`no ${actionId} button for ${id} shown yet`);
  return found;
}

/** A batch seeded and posted to Slack by the outbox: where each card and the parent message are. */
export async function postedSlackBatch(db: Database, h: { outbox: ChatOutboxWorker }, opts: Parameters<typeof seedSlackBatch>[1]) {
  const seeded = await seedSlackBatch(db.pool, opts);
  h.outbox.wake();
  const refs = await eventually(async () => {
    const { rows } = await db.pool.query(`SELECT id, card_refs FROM campaign_messages WHERE batch_id = $1 ORDER BY id`, [seeded.batchId]);
    if (rows.some((r) => !r.card_refs.slack)) throw new Error('not posted yet');
    return rows.map((r) => r.card_refs.slack as { channel: string; id: string; thread: string; position: number });
  });
  const parent = (await db.pool.query(`SELECT chat_refs FROM batches WHERE id = $1`, [seeded.batchId])).rows[0].chat_refs.slack as { id: string };
  return { ...seeded, refs, parent };
}
