import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { enqueueChatPosts } from '../../src/db/queries/outbox.ts';
import { engines } from '../support/db.ts';
import { asIfCrashedAfterPosting } from '../support/outboxCrash.ts';
import { CHANNEL_ID, seedBatch, startHarness, type Harness } from './harness.ts';
import { deliverOutbox } from './outboxWait.ts';

/**
 * A process that dies after Discord accepted a post and before the post was marked done
 * leaves the row pending; once its lease runs out another worker delivers it again. The
 * nonce the post carries makes Discord answer with the first message instead of a second.
 */
describe.each(engines)('a thread post retried after a crash on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(engine);
  });
  afterAll(() => h?.close());
  beforeEach(() => h.peer.reset());

  async function postedBatch(name: string) {
    const { batchId } = await seedBatch(h.db, name, 1);
    await enqueueChatPosts(h.db.pool, [{ surface: 'discord', kind: 'batch', dedupeKey: `batch:${batchId}`, batchId, payload: { batchId } }]);
    await deliverOutbox(h.ctx, h.discord.surface, `batch:${batchId}`);
    return batchId;
  }

  const createsIn = (channel: string) => h.peer.callsTo('POST', new RegExp(`^/channels/${channel}/messages$`));
  const messagesIn = (channel: string) => [...h.peer.messages.values()].filter((m) => m.channel_id === channel);

  it('a reply posted into the thread is posted once, and the retry gets the same message back', async () => {
    const batchId = await postedBatch('reply retried');
    const thread = (await h.db.pool.query(`SELECT chat_refs->'discord'->>'id' AS id FROM batches WHERE id = $1`, [batchId])).rows[0].id as string;
    const key = `reply:${batchId}:SM1`;
    await enqueueChatPosts(h.db.pool, [
      { surface: 'discord', kind: 'thread', dedupeKey: key, batchId, payload: { batchId, message: { title: 'Reply', text: 'Customer 1: see you Friday' } } },
    ]);
    await deliverOutbox(h.ctx, h.discord.surface, key);
    const before = messagesIn(thread).length;
    await asIfCrashedAfterPosting(h.db.pool, key);
    await deliverOutbox(h.ctx, h.discord.surface, key);

    const creates = createsIn(thread).filter((c) => JSON.stringify(c.body).includes('see you Friday'));
    expect(creates).toHaveLength(2);
    expect(new Set(creates.map((c) => (c.body as { nonce?: string }).nonce)).size).toBe(1);
    expect(messagesIn(thread)).toHaveLength(before);
    expect(messagesIn(thread).filter((m) => JSON.stringify(m.embeds).includes('see you Friday'))).toHaveLength(1);
  });

  it("a batch's progress message whose ref was not stored is not posted a second time", async () => {
    const batchId = await postedBatch('progress retried');
    const key = `progress:${batchId}:1`;
    await enqueueChatPosts(h.db.pool, [{ surface: 'discord', kind: 'progress', dedupeKey: key, batchId, payload: { batchId } }]);
    await deliverOutbox(h.ctx, h.discord.surface, key);
    const first = (await h.db.pool.query(`SELECT progress_refs->'discord'->>'id' AS id FROM batches WHERE id = $1`, [batchId])).rows[0].id as string;
    expect(first).toMatch(/^\d+$/);
    // The crash fell between the post and storing its ref.
    await h.db.pool.query(`UPDATE batches SET progress_refs = progress_refs - 'discord' WHERE id = $1`, [batchId]);
    await asIfCrashedAfterPosting(h.db.pool, key);
    await deliverOutbox(h.ctx, h.discord.surface, key);

    const again = (await h.db.pool.query(`SELECT progress_refs->'discord'->>'id' AS id FROM batches WHERE id = $1`, [batchId])).rows[0].id as string;
    expect(again).toBe(first);
    const progressPosts = [...h.peer.messages.values()].filter((m) => m.nonce === `smsops-p${batchId}`);
    expect(progressPosts.map((m) => m.id)).toEqual([first]);
  });

  it('a channel post (the daily summary) is posted once', async () => {
    const key = `summary:test:${Date.now()}`;
    await enqueueChatPosts(h.db.pool, [
      { surface: 'discord', kind: 'channel', dedupeKey: key, payload: { channel: CHANNEL_ID, message: { title: 'Daily summary', text: '40 sent' } } },
    ]);
    await deliverOutbox(h.ctx, h.discord.surface, key);
    await asIfCrashedAfterPosting(h.db.pool, key);
    await deliverOutbox(h.ctx, h.discord.surface, key);
    expect(createsIn(CHANNEL_ID).filter((c) => JSON.stringify(c.body).includes('40 sent'))).toHaveLength(2);
    expect(messagesIn(CHANNEL_ID).filter((m) => JSON.stringify(m.embeds).includes('40 sent'))).toHaveLength(1);
  });
});
