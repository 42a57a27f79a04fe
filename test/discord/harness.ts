/**
 * A running Discord surface for tests: the real express app with POST /discord/interactions,
 * the real discord.js REST client pointed at the local Discord peer, a test database, and
 * interactions signed with an Ed25519 key generated here (exactly as Discord signs them).
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { AppContext } from '../../src/context.ts';
import type { Database } from '../../src/db/database.ts';
import { startDiscord, type RunningDiscord } from '../../src/bot/discord/index.ts';
import { createHttpApp, listen } from '../../src/http/server.ts';
import { silentLogger } from '../../src/log.ts';
import { startDiscordPeer, type DiscordPeer } from '../peers/discord.ts';
import { openTestDatabase, type Engine } from '../support/db.ts';
import { insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { enqueueChatPosts } from '../../src/db/queries/outbox.ts';
import { deliverOutbox } from './outboxWait.ts';

export const APP_ID = '1100000000000000001';
export const CHANNEL_ID = '1100000000000000002';
export const GUILD_ID = '1100000000000000003';
export const APPROVER_ROLE = '1100000000000000004';

/** The 32-byte raw public key in hex, as the developer portal shows it. */
export function rawPublicKeyHex(key: KeyObject): string {
  return key.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
}

export interface Harness {
  db: Database;
  ctx: AppContext;
  peer: DiscordPeer;
  discord: RunningDiscord;
  url: string;
  privateKey: KeyObject;
  /** POSTs an interaction to /discord/interactions, signed unless `signWith` says otherwise. */
  send(interaction: unknown, opts?: { signWith?: KeyObject | 'none'; tamper?: boolean }): Promise<{ status: number; json: unknown }>;
  close(): Promise<void>;
}

export async function startHarness(
  engine: Engine,
  opts: { approverRoleId?: string; deferAfterMs?: number; publicKey?: boolean } = {},
): Promise<Harness> {
  const peer = await startDiscordPeer();
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const env: Record<string, string> = {
    LOG_LEVEL: 'silent',
    DISCORD_TOKEN: peer.token,
    DISCORD_APPLICATION_ID: APP_ID,
    DISCORD_CHANNEL_ID: CHANNEL_ID,
    DISCORD_API_URL: peer.api,
  };
  if (opts.publicKey !== false) env.DISCORD_PUBLIC_KEY = rawPublicKeyHex(publicKey);
  if (opts.approverRoleId) env.DISCORD_APPROVER_ROLE_ID = opts.approverRoleId;
  const config = loadConfig(env as NodeJS.ProcessEnv);
  const db = await openTestDatabase(engine);
  const ctx: AppContext = { config, db, log: silentLogger, clock: new ManualClock('2026-03-02T18:00:00Z') };
  const app = createHttpApp({ db, log: silentLogger });
  const discord = await startDiscord(ctx, app, { deferAfterMs: opts.deferAfterMs ?? 10_000 });
  const server: Server = await listen(app, '127.0.0.1', 0, silentLogger);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    db,
    ctx,
    peer,
    discord,
    url,
    privateKey,
    async send(interaction, o = {}) {
      const body = JSON.stringify(interaction);
      const timestamp = String(Math.floor(Date.now() / 1000));
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-signature-timestamp': timestamp };
      if (o.signWith !== 'none') {
        const key = o.signWith ?? privateKey;
        headers['x-signature-ed25519'] = sign(null, Buffer.from(timestamp + body), key).toString('hex');
      }
      const res = await fetch(`${url}/discord/interactions`, {
        method: 'POST',
        headers,
        body: o.tamper ? body.replace('"type":3', '"type":3 ') : body,
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    },
    async close() {
      await discord.stop();
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await peer.close();
      await db.close();
    },
  };
}

let interactionSeq = 0;
function snowflake(): string {
  interactionSeq++;
  return String(1_200_000_000_000_000_000n + BigInt(process.pid) * 1_000_000n + BigInt(interactionSeq));
}

export interface Member {
  id?: string;
  name?: string;
  roles?: string[];
}

function memberOf(m: Member = {}) {
  return { user: { id: m.id ?? '900000000000000001', username: (m.name ?? 'Dana').toLowerCase(), global_name: m.name ?? 'Dana' }, nick: null, roles: m.roles ?? [] };
}

/** The fields every interaction on a posted message in the batch thread carries. */
function onMessage(type: 3 | 5, id: string, at: { messageId: string; channelId: string }, member?: Member) {
  return {
    id,
    application_id: APP_ID,
    type,
    token: `token-${id}`,
    version: 1,
    guild_id: GUILD_ID,
    channel_id: at.channelId,
    channel: { id: at.channelId, type: 11, parent_id: CHANNEL_ID },
    member: memberOf(member),
    message: { id: at.messageId, channel_id: at.channelId, content: '', embeds: [], components: [] },
  };
}

/** A button click on a posted message (type 3), as Discord sends it. */
export function buttonClick(customId: string, at: { messageId: string; channelId: string }, member?: Member, id = snowflake()) {
  return { ...onMessage(3, id, at, member), data: { custom_id: customId, component_type: 2 } };
}

/** A modal submit (type 5) from a modal opened by a button on `at`. */
export function modalSubmit(customId: string, value: string, at: { messageId: string; channelId: string }, member?: Member) {
  return {
    ...onMessage(5, snowflake(), at, member),
    data: { custom_id: customId, components: [{ type: 18, id: 1, component: { type: 4, id: 2, custom_id: 'body', value } }] },
  };
}

/** `/campaign <sub> ...options` (type 2) in the campaign channel. */
export function slashCommand(sub: string, options: Record<string, string | number | boolean> = {}, member?: Member) {
  const id = snowflake();
  return {
    id,
    application_id: APP_ID,
    type: 2,
    token: `token-${id}`,
    version: 1,
    guild_id: GUILD_ID,
    channel_id: CHANNEL_ID,
    channel: { id: CHANNEL_ID, type: 0 },
    member: memberOf(member),
    data: {
      id: '1100000000000000099',
      name: 'campaign',
      type: 1,
      options: [
        {
          name: sub,
          type: 1,
          options: Object.entries(options).map(([name, value]) => ({
            name,
            type: typeof value === 'number' ? 4 : typeof value === 'boolean' ? 5 : 3,
            value,
          })),
        },
      ],
    },
  };
}

/** A campaign on Discord with one batch of `n` suggested messages (customer context, rationale, lint). */
export async function seedBatch(db: Database, name: string, n: number, opts: { body?: (i: number) => string } = {}) {
  const campaignId = await insertCampaign(db.pool, { name, status: 'draft', chatSurface: 'discord', chatChannel: CHANNEL_ID });
  const { rows } = await db.pool.query<{ id: number }>(
    `INSERT INTO batches (campaign_id, segment_spec, generator, suggestion_count, lint_finding_count, estimated_cost_usd)
     VALUES ($1, 'lapsed:60', 'templates', $2, 1, 0.05) RETURNING id`,
    [campaignId, n],
  );
  const batchId = rows[0]!.id;
  const messageIds: number[] = [];
  for (let i = 0; i < n; i++) {
    const customer = await insertCustomer(db.pool, { name: `Customer ${i + 1}` });
    const id = await insertMessage(db.pool, {
      campaignId,
      batchId,
      customerId: customer.id,
      phone: customer.phone,
      status: 'suggested',
      body: opts.body?.(i) ?? `Hi Customer ${i + 1}, we miss you at Bella's! 10% off this week. Reply STOP to opt out`,
    });
    await db.pool.query(
      `UPDATE campaign_messages SET customer_context = $2, rationale = $3, lint = $4 WHERE id = $1`,
      [
        id,
        JSON.stringify({ facts: [{ label: 'Last visit', value: `${30 + i} days ago` }, { label: 'Favorite', value: 'Tiramisu' }] }),
        'Lapsed regular: a small offer brings them back',
        JSON.stringify(i === 0 ? [{ rule: 'link', severity: 'warning', message: 'Consider adding the booking link' }] : []),
      ],
    );
    messageIds.push(id);
  }
  return { campaignId, batchId, messageIds };
}

/**
 * A batch seeded and posted through the outbox: where each card's message is (by message
 * id), where the parent message is, and the custom ids of the parent's buttons.
 */
export async function postedBatch(h: Harness, name: string, n: number) {
  const s = await seedBatch(h.db, name, n);
  await enqueueChatPosts(h.db.pool, [{ surface: 'discord', kind: 'batch', dedupeKey: `batch:${s.batchId}`, batchId: s.batchId, payload: { batchId: s.batchId } }]);
  await deliverOutbox(h.ctx, h.discord.surface, `batch:${s.batchId}`);
  const { rows } = await h.db.pool.query<{ id: number; ref: { channel: string; id: string } }>(
    `SELECT id, card_refs->'discord' AS ref FROM campaign_messages WHERE batch_id = $1 ORDER BY id`,
    [s.batchId],
  );
  const at = (id: number) => {
    const r = rows.find((x) => x.id === id)!.ref;
    return { messageId: r.id, channelId: r.channel };
  };
  const { rows: b } = await h.db.pool.query(`SELECT chat_refs->'discord' AS ref FROM batches WHERE id = $1`, [s.batchId]);
  const header = h.peer.callsTo('POST', new RegExp(`^/channels/${CHANNEL_ID}/messages$`)).at(-1)!.body as { components: { components: { custom_id: string }[] }[] };
  return { ...s, at, parentAt: { messageId: b[0].ref.id as string, channelId: CHANNEL_ID }, headerIds: header.components[0]!.components.map((x) => x.custom_id) };
}
