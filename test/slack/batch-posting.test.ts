import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { eventually, seedSlackBatch, startSlackHarness, CHANNEL, type SlackHarness } from './support.ts';

describe.each(engines)('posting a batch to Slack on %s', (engine) => {
  let db: Database;
  let h: SlackHarness;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    h = await startSlackHarness(db);
  });
  afterAll(async () => {
    await h?.close();
    await db?.close();
  });
  beforeEach(() => h.peer.reset());

  const outboxRow = async (batchId: number) =>
    (await db.pool.query(`SELECT status, attempts, last_error FROM chat_outbox WHERE dedupe_key = $1`, [`batch:${batchId}`])).rows[0];

  it('the outbox worker is idle only once what was due is delivered', async () => {
    const { batchId } = await seedSlackBatch(db.pool, { campaign: 'idle-check', n: 3 });
    await h.outbox.idle();
    expect(await outboxRow(batchId)).toMatchObject({ status: 'done', attempts: 1 });
    expect(h.peer.callsTo('chat.postMessage').length).toBeGreaterThan(0);
  });

  it('posts 300 suggestions as a parent plus packed thread messages within Block Kit limits, in at most 40 calls', async () => {
    const { batchId, messageIds } = await seedSlackBatch(db.pool, { campaign: 'big-batch', n: 300 });
    h.outbox.wake();
    await eventually(async () => expect(await outboxRow(batchId)).toMatchObject({ status: 'done' }), 60_000);

    const posts = h.peer.callsTo('chat.postMessage');
    expect(posts.length).toBeLessThanOrEqual(40);
    const [parent, ...cards] = posts;
    expect(parent!.body).toMatchObject({ channel: CHANNEL });
    expect(parent!.body.thread_ts).toBeUndefined();
    const parentBlocks = JSON.stringify(parent!.body.blocks);
    for (const word of ['big-batch', 'lapsed:60', 'Suggestions', 'Lint findings', 'Estimated cost', 'Sending window', 'Approve all', 'Reject all']) {
      expect(parentBlocks).toContain(word);
    }
    const { rows } = await db.pool.query(`SELECT chat_refs, post_state FROM batches WHERE id = $1`, [batchId]);
    const parentRef = rows[0].chat_refs.slack;
    expect(rows[0].post_state).toBe('posted');

    let cardsSeen = 0;
    for (const call of cards) {
      const blocks = call.body.blocks as { type: string; text?: { text: string }; elements?: { text?: string }[] }[];
      expect(call.body.thread_ts).toBe(parentRef.id);
      expect(blocks.length).toBeLessThanOrEqual(50);
      for (const b of blocks) {
        if (b.text) expect(b.text.text.length).toBeLessThanOrEqual(3000);
        for (const e of b.elements ?? []) if (e.text && typeof e.text === 'string') expect(e.text.length).toBeLessThanOrEqual(3000);
      }
      cardsSeen += blocks.filter((b) => b.type === 'actions').length;
    }
    expect(cardsSeen).toBe(300);
    // Every card shows customer, masked phone, text, why, lint and its buttons.
    const firstCard = JSON.stringify(cards[0]!.body.blocks);
    expect(firstCard).toMatch(/Customer 1\*/);
    expect(firstCard).toMatch(/\+1415\*\*\*\d{4}/);
    expect(firstCard).toContain('we miss you at Bloom Bakery');
    expect(firstCard).toContain('Why:');
    expect(firstCard).toContain('lint clean');
    for (const id of ['card_approve', 'card_edit', 'card_reject']) expect(firstCard).toContain(id);

    // Each card's ref names its packed message and its position there.
    const refs = await db.pool.query(`SELECT id, card_refs FROM campaign_messages WHERE id = ANY($1::bigint[]) ORDER BY id`, [messageIds]);
    const tsSet = new Set(refs.rows.map((r) => r.card_refs.slack.id));
    expect(tsSet.size).toBe(cards.length);
    expect(refs.rows[1].card_refs.slack).toMatchObject({ channel: CHANNEL, id: refs.rows[0].card_refs.slack.id, thread: parentRef.id, position: 1 });

    // Delivered exactly once: another round posts nothing.
    await h.outbox.idle();
    expect(h.peer.callsTo('chat.postMessage')).toHaveLength(posts.length);
    console.log(`[measure] Slack API calls to post a 300-suggestion batch: ${posts.length} chat.postMessage`);
  });

  it('waits out a 429 (Retry-After) and posts once', async () => {
    h.peer.rateLimit('chat.postMessage', 1, 1);
    const { batchId } = await seedSlackBatch(db.pool, { campaign: 'rate-limited', n: 3 });
    h.outbox.wake();
    await eventually(async () => expect(await outboxRow(batchId)).toMatchObject({ status: 'done' }));
    expect(h.peer.callsTo('chat.postMessage#429')).toHaveLength(1);
    expect(h.peer.callsTo('chat.postMessage')).toHaveLength(2); // parent + one packed message
  });

  for (const mode of ['503', 'refused'] as const) {
    it(`posts later, exactly once, when Slack was down (${mode})`, async () => {
      await h.peer.setDown(mode);
      const { batchId } = await seedSlackBatch(db.pool, { campaign: `down-${mode}`, n: 15 });
      h.outbox.wake();
      await eventually(async () => expect((await outboxRow(batchId)).last_error).toBeTruthy());
      expect((await outboxRow(batchId)).status).toBe('pending');
      await h.peer.setDown(false);
      await db.pool.query(`UPDATE chat_outbox SET next_attempt_at = now() WHERE dedupe_key = $1`, [`batch:${batchId}`]);
      h.outbox.wake();
      await eventually(async () => expect(await outboxRow(batchId)).toMatchObject({ status: 'done' }));
      const posts = h.peer.callsTo('chat.postMessage');
      expect(posts).toHaveLength(3); // parent + 12 cards + 3 cards
      expect(posts.filter((p) => p.body.thread_ts === undefined)).toHaveLength(1);
    });
  }

  it('resumes a half-posted batch without posting any part twice', async () => {
    const { batchId } = await seedSlackBatch(db.pool, { campaign: 'resume', n: 30 });
    // Slack goes down after the parent and the first packed message.
    let posted = 0;
    const watcher = setInterval(() => {
      posted = h.peer.callsTo('chat.postMessage').length;
      if (posted >= 2) void h.peer.setDown('503');
    }, 1);
    h.outbox.wake();
    await eventually(async () => expect((await outboxRow(batchId)).last_error).toBeTruthy());
    clearInterval(watcher);
    const before = h.peer.callsTo('chat.postMessage').length;
    expect(before).toBeGreaterThanOrEqual(1);
    await h.peer.setDown(false);
    await db.pool.query(`UPDATE chat_outbox SET next_attempt_at = now() WHERE dedupe_key = $1`, [`batch:${batchId}`]);
    h.outbox.wake();
    await eventually(async () => expect(await outboxRow(batchId)).toMatchObject({ status: 'done' }));
    const posts = h.peer.callsTo('chat.postMessage');
    expect(posts.filter((p) => p.body.thread_ts === undefined)).toHaveLength(1);
    const actions = posts.flatMap((p) => (p.body.blocks as { type: string; block_id?: string }[]).filter((b) => b.type === 'actions' && b.block_id?.startsWith('card_')));
    expect(actions).toHaveLength(30);
    expect(new Set(actions.map((b) => b.block_id)).size).toBe(30);
  });
});
