import { RESTEvents } from 'discord.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { approveMessage } from '../../src/bot/approvals.ts';
import { loadBatchCards, loadBatchHeader } from '../../src/bot/cards.ts';
import { embedLength, LIMITS } from '../../src/bot/discord/render.ts';
import { enqueueChatPosts } from '../../src/db/queries/outbox.ts';
import { engines } from '../support/db.ts';
import { CHANNEL_ID, seedBatch, startHarness, type Harness } from './harness.ts';
import { deliverOutbox } from './outboxWait.ts';

type Row = { components: { custom_id: string }[] };
type Body = { embeds: { title: string; description: string; footer: { text: string } }[]; components: Row[]; nonce?: string; enforce_nonce?: boolean };

describe.each(engines)('posting a batch to Discord on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(engine);
  });
  afterAll(() => h?.close());
  beforeEach(() => h.peer.reset());

  async function postBatch(name: string, n: number, body?: (i: number) => string) {
    const seeded = await seedBatch(h.db, name, n, body ? { body } : {});
    await enqueueChatPosts(h.db.pool, [
      { surface: 'discord', kind: 'batch', dedupeKey: `batch:${seeded.batchId}`, batchId: seeded.batchId, payload: { batchId: seeded.batchId } },
    ]);
    await deliverOutbox(h.ctx, h.discord.surface, `batch:${seeded.batchId}`);
    return seeded;
  }

  it('posts a parent message with Approve all / Reject all, starts a thread from it, and packs 12 cards into 3 messages there', async () => {
    const { batchId, messageIds } = await postBatch('posting', 12);
    const parents = h.peer.callsTo('POST', new RegExp(`^/channels/${CHANNEL_ID}/messages$`));
    expect(parents).toHaveLength(1);
    const parent = parents[0]!.body as Body;
    expect(parent.embeds[0]!.title).toBe(`Batch ${batchId} · posting`);
    expect(parent.components[0]!.components.map((b) => b.custom_id)).toEqual([`approve_all:${batchId}:0`, `reject_all:${batchId}`]);
    expect(parent).toMatchObject({ nonce: `smsops-b${batchId}`, enforce_nonce: true });
    expect(parents.every((c) => c.authorized)).toBe(true);

    const parentId = [...h.peer.messages.values()].find((m) => m.nonce === `smsops-b${batchId}`)!.id;
    const threads = h.peer.callsTo('POST', /\/threads$/);
    expect(threads.map((c) => c.path)).toEqual([`/channels/${CHANNEL_ID}/messages/${parentId}/threads`]);
    expect((threads[0]!.body as { name: string }).name).toBe(`posting · batch ${batchId}`);

    const cardPosts = h.peer.callsTo('POST', new RegExp(`^/channels/${parentId}/messages$`));
    expect(cardPosts.map((c) => (c.body as Body).embeds.length)).toEqual([5, 5, 2]);
    const ids: string[] = [];
    for (const c of cardPosts) {
      const b = c.body as Body;
      expect(b.components.length).toBeLessThanOrEqual(LIMITS.rowsPerMessage);
      expect(b.embeds.reduce((n, e) => n + embedLength(e as never), 0)).toBeLessThanOrEqual(LIMITS.embedCharsPerMessage);
      for (const row of b.components) ids.push(...row.components.map((x) => x.custom_id));
    }
    expect(ids).toEqual(messageIds.flatMap((id) => [`approve:${id}:1`, `edit:${id}:1`, `reject:${id}:1`]));

    // Where each card lives is stored for in-place updates: the thread, the message, the slot.
    const { rows } = await h.db.pool.query(`SELECT id, card_refs->'discord' AS ref FROM campaign_messages WHERE batch_id = $1 ORDER BY id`, [batchId]);
    expect(rows[6].ref).toMatchObject({ channel: parentId, thread: parentId, position: 2 });
    const batch = await h.db.pool.query(`SELECT chat_refs->'discord' AS ref, post_state FROM batches WHERE id = $1`, [batchId]);
    expect(batch.rows[0]).toEqual({ ref: { channel: CHANNEL_ID, id: parentId }, post_state: 'posted' });
  });

  it('a card packs fewer per message when long texts would pass 6000 embed characters', async () => {
    await postBatch('long texts', 5, () => `${'Big spring news at Bella. '.repeat(60)}Reply STOP to opt out`.slice(0, 1590));
    const cardPosts = h.peer.callsTo('POST', /^\/channels\/\d+\/messages$/).filter((c) => !c.path.includes(CHANNEL_ID));
    const packs = cardPosts.map((c) => (c.body as Body).embeds);
    expect(packs.length).toBeGreaterThan(1);
    expect(packs.flat()).toHaveLength(5);
    for (const p of packs) expect(p.reduce((n, e) => n + embedLength(e as never), 0)).toBeLessThanOrEqual(6000);
  });

  it('a retried post returns the messages an earlier attempt made (nonce) and reuses the thread: nothing is posted twice', async () => {
    const { batchId } = await seedBatch(h.db, 'retried', 3);
    const header = await loadBatchHeader(h.db.pool, h.ctx, batchId);
    const cards = await loadBatchCards(h.db.pool, h.ctx, batchId);
    const first = await h.discord.surface.postBatch(header, cards);
    const before = h.peer.messages.size;
    const again = await h.discord.surface.postBatch(header, cards);
    expect(again).toEqual(first);
    expect(h.peer.messages.size).toBe(before);
    expect(h.peer.callsTo('POST', /\/threads$/).map((c) => c.status)).toEqual([201, 400]);
  });

  it('re-renders a card in place after an action, keeping the other cards of its message', async () => {
    const { messageIds } = await postBatch('in place', 3);
    h.peer.reset();
    const r = await approveMessage(h.ctx, { id: 'U1', name: 'Dana', surface: 'discord', isApprover: true }, messageIds[1]!, 1);
    expect(r.ok).toBe(true);
    await deliverOutbox(h.ctx, h.discord.surface);
    const patches = h.peer.callsTo('PATCH', /^\/channels\/\d+\/messages\/\d+$/).filter((c) => (c.body as Body).embeds.length === 3);
    expect(patches.length).toBeGreaterThanOrEqual(1);
    const b = patches.at(-1)!.body as Body;
    expect(b.embeds.map((e) => e.footer.text.match(/message (\d+)/)![1])).toEqual(messageIds.map(String));
    expect(JSON.stringify(b.embeds[1])).toContain('Approved by Dana');
    expect(b.components.map((row) => row.components.map((x) => x.custom_id))).toEqual([
      [`approve:${messageIds[0]}:1`, `edit:${messageIds[0]}:1`, `reject:${messageIds[0]}:1`],
      [`edit:${messageIds[1]}:2`],
      [`approve:${messageIds[2]}:1`, `edit:${messageIds[2]}:1`, `reject:${messageIds[2]}:1`],
    ]);
    // The header's counts follow.
    const header = h.peer.callsTo('PATCH', new RegExp(`^/channels/${CHANNEL_ID}/messages/\\d+$`));
    expect(JSON.stringify(header.at(-1)!.body)).toContain('Approved 1');
  });

  it('waits out a 429 with Discord rate-limit headers, then posts exactly once', async () => {
    h.peer.rateLimit({ method: 'POST', path: new RegExp(`^/channels/${CHANNEL_ID}/messages$`), times: 1, retryAfterSeconds: 1 });
    const limited: { retryAfter: number; route: string }[] = [];
    const onLimit = (info: { retryAfter: number; route: string }) => limited.push(info);
    h.discord.surface.rest.on(RESTEvents.RateLimited, onLimit);
    const before = h.peer.messages.size;
    const ref = await h.discord.surface.postInChannel(CHANNEL_ID, { title: 'Daily summary', text: '40 sent, 2 replies' });
    h.discord.surface.rest.off(RESTEvents.RateLimited, onLimit);
    expect(h.peer.callsTo('POST', new RegExp(`^/channels/${CHANNEL_ID}/messages$`)).map((c) => c.status)).toEqual([429, 200]);
    expect(limited).toHaveLength(1);
    expect(limited[0]!.retryAfter).toBeGreaterThanOrEqual(1000);
    expect(h.peer.messages.size).toBe(before + 1);
    expect(h.peer.messages.get(ref.id)!.channel_id).toBe(CHANNEL_ID);
  });

  it('posts thread messages with the PNG as a multipart upload the embed shows', async () => {
    const { batchId } = await seedBatch(h.db, 'summary image', 1);
    const header = await loadBatchHeader(h.db.pool, h.ctx, batchId);
    const posted = await h.discord.surface.postBatch(header, await loadBatchCards(h.db.pool, h.ctx, batchId));
    h.peer.reset();
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const ref = await h.discord.surface.postInThread(posted.parent, {
      title: 'Opt-out', text: 'Customer 1 replied STOP', tone: 'warning', image: { filename: 'chart.png', base64: png.toString('base64'), alt: 'chart' },
    });
    expect(ref.thread).toBe(posted.parent.id);
    const call = h.peer.callsTo('POST', new RegExp(`^/channels/${posted.parent.id}/messages$`))[0]!;
    expect(call.files).toEqual([{ field: 'files[0]', name: 'chart.png', size: png.length, contentType: 'image/png' }]);
    expect(call.body).toMatchObject({ embeds: [{ title: 'Opt-out', image: { url: 'attachment://chart.png' } }], allowed_mentions: { parse: [] } });
    await h.discord.surface.updateMessage(ref, { text: 'Progress: 3 of 12 sent' });
    expect(h.peer.messages.get(ref.id)!.embeds).toMatchObject([{ description: 'Progress: 3 of 12 sent' }]);
  });
});
