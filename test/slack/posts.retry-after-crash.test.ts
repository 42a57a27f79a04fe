import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { enqueueChatPosts } from '../../src/db/queries/outbox.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { asIfCrashedAfterPosting } from '../support/outboxCrash.ts';
import { CHANNEL, seedSlackBatch, startSlackHarness, type SlackHarness } from './support.ts';

/**
 * Slack has no idempotency key: a delivery that Slack accepted and the outbox did not record
 * (the process died in between) is retried once its lease runs out. The retry finds the post
 * by the key in its metadata and records it, instead of posting it again.
 */
describe.each(engines)('Slack posts retried after a crash on %s', (engine) => {
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

  async function postedBatch(campaign: string, n = 3) {
    const seeded = await seedSlackBatch(db.pool, { campaign, n });
    await h.outbox.idle();
    const parent = (await db.pool.query(`SELECT chat_refs->'slack'->>'id' AS ts FROM batches WHERE id = $1`, [seeded.batchId])).rows[0].ts as string;
    return { ...seeded, parent };
  }
  const withText = (text: string) => h.peer.messages.filter((m) => m.text.includes(text));
  const postsOf = (text: string) => h.peer.callsTo('chat.postMessage').filter((c) => String(c.body.text).includes(text));

  async function replyInThread(batchId: number, text: string) {
    const key = `reply:${batchId}:${text}`;
    await enqueueChatPosts(db.pool, [{ surface: 'slack', kind: 'thread', dedupeKey: key, batchId, payload: { batchId, message: { text } } }]);
    await h.outbox.idle();
    return key;
  }

  it('a reply posted into the thread is found by its key, not posted again', async () => {
    const { batchId, parent } = await postedBatch('reply retried');
    const key = await replyInThread(batchId, 'Customer 1: see you Friday');
    expect(postsOf('see you Friday')).toHaveLength(1);
    expect(postsOf('see you Friday')[0]!.body.metadata).toMatchObject({ event_type: 'smsops_post' });
    // A first attempt has nothing to look for.
    expect(h.peer.callsTo('conversations.replies')).toHaveLength(0);

    await asIfCrashedAfterPosting(db.pool, key);
    h.outbox.wake();
    await h.outbox.idle();
    expect(withText('see you Friday')).toHaveLength(1);
    expect(postsOf('see you Friday')).toHaveLength(1);
    expect(h.peer.callsTo('conversations.replies').map((c) => c.body)).toEqual([
      expect.objectContaining({ channel: CHANNEL, ts: parent, include_all_metadata: 'true' }), // form-encoded, as the client sends it
    ]);
    const row = (await db.pool.query(`SELECT status, result FROM chat_outbox WHERE dedupe_key = $1`, [key])).rows[0];
    expect(row).toMatchObject({ status: 'done', result: { posted: { channel: CHANNEL, id: withText('see you Friday')[0]!.ts, thread: parent } } });
  });

  it('a batch whose parent and cards were posted but not recorded is not posted twice', async () => {
    const { batchId, messageIds, parent } = await postedBatch('batch retried', 14);
    const refs = async () => (await db.pool.query(`SELECT card_refs->'slack' AS ref FROM campaign_messages WHERE batch_id = $1 ORDER BY id`, [batchId])).rows.map((r) => r.ref);
    const before = await refs();
    expect(before).toHaveLength(messageIds.length);
    const messages = h.peer.messages.length;
    // The crash fell before any ref was stored.
    await db.pool.query(`UPDATE batches SET chat_refs = chat_refs - 'slack', post_state = 'pending' WHERE id = $1`, [batchId]);
    await db.pool.query(`UPDATE campaign_messages SET card_refs = card_refs - 'slack' WHERE batch_id = $1`, [batchId]);
    await asIfCrashedAfterPosting(db.pool, `batch:${batchId}`);
    h.outbox.wake();
    await h.outbox.idle();

    expect(h.peer.messages).toHaveLength(messages);
    expect((await db.pool.query(`SELECT chat_refs->'slack'->>'id' AS ts, post_state FROM batches WHERE id = $1`, [batchId])).rows[0]).toEqual({ ts: parent, post_state: 'posted' });
    expect(await refs()).toEqual(before);
    expect(h.peer.callsTo('conversations.history')).toHaveLength(1);
  });

  it('a batch retried after Slack was down looks only until the first part it does not find (parts go out in order)', async () => {
    await h.peer.setDown('503');
    const { batchId } = await seedSlackBatch(db.pool, { campaign: 'retried after outage', n: 30 });
    await h.outbox.idle();
    expect((await db.pool.query(`SELECT status, attempts FROM chat_outbox WHERE dedupe_key = $1`, [`batch:${batchId}`])).rows[0]).toEqual({ status: 'pending', attempts: 1 });
    await h.peer.setDown(false);
    h.peer.reset();
    await db.pool.query(`UPDATE chat_outbox SET next_attempt_at = now() - interval '1 second' WHERE dedupe_key = $1`, [`batch:${batchId}`]);
    h.outbox.wake();
    await h.outbox.idle();
    expect(h.peer.callsTo('chat.postMessage')).toHaveLength(4); // the parent and 3 packs of cards
    expect(h.peer.callsTo('conversations.history')).toHaveLength(1);
    expect(h.peer.callsTo('conversations.replies')).toHaveLength(0);
  });

  it("a batch's progress message is looked for before it is posted, whichever progress row comes first", async () => {
    const { batchId } = await postedBatch('progress retried', 1);
    const progress = async (bucket: number) => {
      const key = `progress:${batchId}:${bucket}`;
      await enqueueChatPosts(db.pool, [{ surface: 'slack', kind: 'progress', dedupeKey: key, batchId, payload: { batchId } }]);
      await h.outbox.idle();
    };
    await progress(1);
    // What looking first costs: one read of the thread when a batch's progress message is first posted.
    expect(h.peer.callsTo('conversations.replies')).toHaveLength(1);
    const first = (await db.pool.query(`SELECT progress_refs->'slack'->>'id' AS ts FROM batches WHERE id = $1`, [batchId])).rows[0].ts as string;
    const posted = h.peer.messages.length;
    // The next bucket's row runs after a crash that lost the ref (a different row, on its first attempt).
    await db.pool.query(`UPDATE batches SET progress_refs = progress_refs - 'slack' WHERE id = $1`, [batchId]);
    await progress(2);
    expect(h.peer.messages).toHaveLength(posted);
    expect((await db.pool.query(`SELECT progress_refs->'slack'->>'id' AS ts FROM batches WHERE id = $1`, [batchId])).rows[0].ts).toBe(first);
  });

  it('a post whose answer was lost is looked for before it is tried again, and found', async () => {
    const { batchId } = await postedBatch('answer lost', 1);
    h.peer.loseAnswers(1);
    const key = await replyInThread(batchId, 'Customer 1: lost answer');
    expect(withText('lost answer')).toHaveLength(1);
    expect(postsOf('lost answer')).toHaveLength(1);
    expect(h.peer.callsTo('conversations.replies')).toHaveLength(1);
    expect((await db.pool.query(`SELECT status, attempts FROM chat_outbox WHERE dedupe_key = $1`, [key])).rows[0]).toEqual({ status: 'done', attempts: 1 });
  });

  it('a 429 is waited out and posted once, without looking (Slack took nothing)', async () => {
    const { batchId } = await postedBatch('rate limited', 1);
    h.peer.rateLimit('chat.postMessage', 1, 1);
    await replyInThread(batchId, 'Customer 1: after the 429');
    expect(h.peer.callsTo('chat.postMessage#429')).toHaveLength(1);
    expect(withText('after the 429')).toHaveLength(1);
    expect(h.peer.callsTo('conversations.replies')).toHaveLength(0);
  });

  it("a daily summary retried after its chart was uploaded is neither posted nor charted twice; one retried before the upload gets its chart", async () => {
    const image = { filename: 'summary.png', base64: Buffer.from('png').toString('base64'), alt: 'sends per day' };
    const summary = async (text: string) => {
      const key = `summary:${text}`;
      await enqueueChatPosts(db.pool, [{ surface: 'slack', kind: 'channel', dedupeKey: key, payload: { channel: CHANNEL, message: { title: 'Daily summary', text, image } } }]);
      await h.outbox.idle();
      return key;
    };
    const charts = (ts: string) => h.peer.messages.filter((m) => m.thread_ts === ts && m.files?.some((f) => f.name === 'summary.png'));

    const whole = await summary('12 sent yesterday');
    const [posted] = withText('12 sent yesterday');
    expect(charts(posted!.ts)).toHaveLength(1);
    await asIfCrashedAfterPosting(db.pool, whole);
    h.outbox.wake();
    await h.outbox.idle();
    expect(withText('12 sent yesterday')).toHaveLength(1);
    expect(charts(posted!.ts)).toHaveLength(1);

    // The crash fell between the post and the upload: the retry finds the post and uploads the chart.
    const half = await summary('7 sent yesterday');
    const [post7] = withText('7 sent yesterday');
    h.peer.messages.splice(h.peer.messages.indexOf(charts(post7!.ts)[0]!), 1);
    await asIfCrashedAfterPosting(db.pool, half);
    h.outbox.wake();
    await h.outbox.idle();
    expect(withText('7 sent yesterday')).toHaveLength(1);
    expect(charts(post7!.ts)).toHaveLength(1);
  });

  it('without the history scopes a retry still delivers (it may post twice), rather than failing for ever', async () => {
    const { batchId } = await postedBatch('no history scope', 1);
    const key = await replyInThread(batchId, 'Customer 1: thanks!');
    h.peer.setHistoryScopes(false);
    await asIfCrashedAfterPosting(db.pool, key);
    h.outbox.wake();
    await h.outbox.idle();
    expect(h.peer.callsTo('conversations.replies')).toHaveLength(1);
    expect(withText('thanks!')).toHaveLength(2);
    expect((await db.pool.query(`SELECT status FROM chat_outbox WHERE dedupe_key = $1`, [key])).rows[0].status).toBe('done');
  });

  /** A message posted by someone else: a person (an xoxp- token) or another app (its own xoxb- token). */
  async function postAs(token: string, message: Record<string, unknown>) {
    const res = await fetch(`${h.peer.apiUrl}/chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ channel: CHANNEL, ...message }),
    });
    expect(((await res.json()) as { ok: boolean }).ok).toBe(true);
  }

  // conversations.replies pages a thread oldest first: a post retried in a busy thread (a big
  // batch's cards, replies, people talking) was posted last, and must still be reached.
  it('a reply retried after a crash in a thread of 1200 messages is found, not posted again', async () => {
    const { batchId } = await seedSlackBatch(db.pool, { campaign: 'busy thread', n: 1 });
    await h.outbox.idle();
    const parent = (await db.pool.query(`SELECT chat_refs->'slack'->>'id' AS ts FROM batches WHERE id = $1`, [batchId])).rows[0].ts as string;
    for (let i = 0; i < 1200; i++) await postAs('xoxp-someone', { thread_ts: parent, text: `chatter ${i}` });

    const key = `reply:${batchId}:late`;
    await enqueueChatPosts(db.pool, [{ surface: 'slack', kind: 'thread', dedupeKey: key, batchId, payload: { batchId, message: { text: 'Customer 1: the late reply' } } }]);
    await h.outbox.idle();
    expect(h.peer.messages.filter((m) => m.text.includes('the late reply'))).toHaveLength(1);

    await asIfCrashedAfterPosting(db.pool, key);
    h.outbox.wake();
    await h.outbox.idle();
    expect((await db.pool.query(`SELECT status FROM chat_outbox WHERE dedupe_key = $1`, [key])).rows[0].status).toBe('done');
    expect(h.peer.messages.filter((m) => m.text.includes('the late reply'))).toHaveLength(1);
  });

  // A key is built from database ids: the channel may also hold another smsops install's posts
  // with the same keys (a staging install sharing it; this one before a restore from backup).
  it("a batch whose first post was refused (429s) gets its own parent on the retry, not the other install's batch of the same id", async () => {
    const { rows } = await db.pool.query<{ id: number }>(`SELECT coalesce(max(id), 0) + 1 AS id FROM batches`);
    await postAs('xoxb-staging', { text: 'Staging spring promo · batch', metadata: { event_type: 'smsops_post', event_payload: { key: `b${rows[0]!.id}` } } });
    // Every try of the first attempt is refused for now: Slack took nothing.
    h.peer.rateLimit('chat.postMessage', 3, 0);
    const { batchId } = await seedSlackBatch(db.pool, { campaign: 'Production winback', n: 2 });
    expect(batchId).toBe(rows[0]!.id);
    await h.outbox.idle();
    expect((await db.pool.query(`SELECT status, attempts FROM chat_outbox WHERE dedupe_key = $1`, [`batch:${batchId}`])).rows[0]).toEqual({ status: 'pending', attempts: 1 });

    await db.pool.query(`UPDATE chat_outbox SET next_attempt_at = now() - interval '1 second' WHERE dedupe_key = $1`, [`batch:${batchId}`]);
    h.outbox.wake();
    await h.outbox.idle();
    const parent = (await db.pool.query(`SELECT chat_refs->'slack'->>'id' AS ts FROM batches WHERE id = $1`, [batchId])).rows[0].ts as string;
    const shown = h.peer.messages.find((m) => m.ts === parent);
    expect(shown?.text).toContain('Production winback');
    expect(h.peer.messages.filter((m) => m.text.includes('Production winback') && !m.thread_ts)).toHaveLength(1);
  });

  it('a post whose answer was lost and whose look-up is refused too is not posted again blind: the next delivery finds it', async () => {
    const { batchId } = await seedSlackBatch(db.pool, { campaign: 'lookup refused', n: 1 });
    await h.outbox.idle();
    const key = `reply:${batchId}:refused`;
    h.peer.loseAnswers(1);
    // The harness client tries a call 3 times: every look of this delivery is refused.
    h.peer.rateLimit('conversations.replies', 3, 0);
    await enqueueChatPosts(db.pool, [{ surface: 'slack', kind: 'thread', dedupeKey: key, batchId, payload: { batchId, message: { text: 'Customer 1: refused lookup' } } }]);
    await h.outbox.idle();
    const posted = () => h.peer.messages.filter((m) => m.text.includes('refused lookup'));
    expect(posted()).toHaveLength(1);
    expect(h.peer.callsTo('conversations.replies#429')).toHaveLength(3);
    expect((await db.pool.query(`SELECT status, attempts FROM chat_outbox WHERE dedupe_key = $1`, [key])).rows[0]).toEqual({ status: 'pending', attempts: 1 });

    await db.pool.query(`UPDATE chat_outbox SET next_attempt_at = now() - interval '1 second' WHERE dedupe_key = $1`, [key]);
    h.outbox.wake();
    await h.outbox.idle();
    expect(posted()).toHaveLength(1);
    const row = (await db.pool.query(`SELECT status, result FROM chat_outbox WHERE dedupe_key = $1`, [key])).rows[0];
    expect(row).toMatchObject({ status: 'done', result: { posted: { id: posted()[0]!.ts } } });
  });
});
