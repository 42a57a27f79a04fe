/**
 * Time from a Slack click to its ack(): signed block_actions requests (Approve) against the
 * running HTTP app while a busy loop of database work runs (what a busy scheduler does:
 * claims, updates, counts), compared with the same clicks on an idle service. The ack goes
 * out before the approval touches the database. Target: p99 under 500 ms.
 *
 *   npx tsx bench/slack-ack.ts            (embedded PGlite; also PostgreSQL when DATABASE_URL is set)
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { startChatOutbox } from '../src/bot/outbox.ts';
import { createSlackSurface } from '../src/bot/slack/index.ts';
import { systemClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import type { AppContext } from '../src/context.ts';
import { openPglite, openPostgres, type Database } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { silentLogger } from '../src/log.ts';
import { blockActionsPayload, postToSlackEndpoint, startSlackPeer } from '../test/peers/slack.ts';

const SECRET = 'bench-secret';
const CLICKS = 300;
const CONCURRENCY = 4;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function seed(db: Database, name: string, n: number): Promise<number[]> {
  const c = await db.pool.query<{ id: number }>(`INSERT INTO campaigns (name, status, chat_surface, chat_channel) VALUES ($1, 'active', 'slack', 'C1') RETURNING id`, [name]);
  const b = await db.pool.query<{ id: number }>(`INSERT INTO batches (campaign_id, segment_spec, generator) VALUES ($1, 'all', 'templates') RETURNING id`, [c.rows[0]!.id]);
  const { rows } = await db.pool.query<{ id: number }>(
    `INSERT INTO campaign_messages (campaign_id, batch_id, phone, body)
     SELECT $1, $2, '+1415' || lpad((3000000 + g)::text, 7, '0'), 'Hi! We miss you. Reply STOP to opt out'
     FROM generate_series(1, $3) g RETURNING id`,
    [c.rows[0]!.id, b.rows[0]!.id, n],
  );
  return rows.map((r) => Number(r.id));
}

/** Scheduler-like load until `stop()`: claim-and-update transactions and counting queries, back to back. */
function busyLoop(db: Database): { stop(): Promise<number> } {
  let running = true;
  let rounds = 0;
  const loop = (async () => {
    while (running) {
      await db.tx(async (c) => {
        await c.query(`SELECT id FROM campaign_messages WHERE status = 'suggested' ORDER BY id LIMIT 50 FOR UPDATE SKIP LOCKED`);
        // Rows another transaction holds are skipped, as the dispatcher's claims skip them: a
        // random-order update that waited could deadlock with an approval's slot writes.
        await c.query(`UPDATE campaign_messages SET updated_at = now() WHERE id IN (SELECT id FROM campaign_messages ORDER BY random() LIMIT 20 FOR UPDATE SKIP LOCKED)`);
        await c.query(`SELECT campaign_id, status, count(*) FROM campaign_messages GROUP BY 1, 2`);
      });
      await db.pool.query(`SELECT count(*) FROM generate_series(1, 5000)`);
      rounds++;
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return rounds;
    },
  };
}

async function measure(url: string, ids: number[]): Promise<number[]> {
  const times: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++]!;
      const t0 = performance.now();
      const r = await postToSlackEndpoint(url, SECRET, blockActionsPayload({ user: { id: 'UDANA', name: 'dana' }, actionId: 'card_approve', value: String(id), channel: 'C1', messageTs: '1.1' }));
      times.push(performance.now() - t0);
      if (r.status !== 200) throw new Error(`click answered ${r.status}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return times.sort((a, b) => a - b);
}

async function run(engine: 'pglite' | 'postgres'): Promise<string[]> {
  const db = engine === 'pglite' ? await openPglite(undefined) : await openPostgres(process.env.DATABASE_URL!);
  await migrate(db);
  const suffix = Date.now().toString(36);
  const peer = await startSlackPeer();
  const config = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-bench', SLACK_SIGNING_SECRET: SECRET, SLACK_CHANNEL_ID: 'C1', SLACK_API_URL: peer.apiUrl, RECIPIENT_QUIET_HOURS: 'off' });
  const ctx: AppContext = { config, db, log: silentLogger, clock: systemClock };
  const app = express();
  const slack = await createSlackSurface(ctx, app, { postIntervalMs: 0 });
  const outbox = startChatOutbox(ctx, new Map([['slack', slack.surface]]), { pollMs: 200 });
  const server = await new Promise<Server>((r) => {
    const s = app.listen(0, '127.0.0.1', () => r(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
  const rows: string[] = [];
  try {
    await measure(url, await seed(db, `bench-warmup-${suffix}`, 30)); // load modules, warm the JIT
    const idle = await measure(url, await seed(db, `bench-idle-${suffix}`, CLICKS));
    await seed(db, `bench-load-${suffix}`, 3000); // what the busy loop chews on
    const clicks = await seed(db, `bench-busy-${suffix}`, CLICKS);
    const busy = [busyLoop(db), busyLoop(db)];
    await new Promise((r) => setTimeout(r, 1000));
    const loaded = await measure(url, clicks);
    const rounds = (await Promise.all(busy.map((b) => b.stop()))).reduce((a, b) => a + b, 0);
    for (const [label, t] of [['idle', idle], [`busy (${rounds} DB rounds)`, loaded]] as const) {
      rows.push(`| ${engine.padEnd(8)} | ${label.padEnd(22)} | ${String(t.length).padStart(6)} | ${pct(t, 50).toFixed(1).padStart(7)} | ${pct(t, 95).toFixed(1).padStart(7)} | ${pct(t, 99).toFixed(1).padStart(7)} | ${t[t.length - 1]!.toFixed(1).padStart(7)} |`);
    }
  } finally {
    await outbox.stop();
    await new Promise<void>((r) => server.close(() => r()));
    server.closeAllConnections();
    await peer.close();
    await db.close();
  }
  return rows;
}

const out = ['| engine   | scheduler              | clicks | p50 ms  | p95 ms  | p99 ms  | max ms  |', '|----------|------------------------|--------|---------|---------|---------|---------|'];
out.push(...(await run('pglite')));
if (process.env.DATABASE_URL) out.push(...(await run('postgres')));
console.log(`Slack click -> ack() latency (${CONCURRENCY} concurrent clickers; target p99 < 500 ms)`);
console.log(out.join('\n'));
