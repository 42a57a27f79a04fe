import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { enqueueChatPosts } from '../../src/db/queries/outbox.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { asIfCrashedAfterPosting } from '../support/outboxCrash.ts';
import { CHANNEL, seedSlackBatch, startSlackHarness, type SlackHarness } from './support.ts';

/**
 * conversations.replies pages a thread oldest first. A retried post into a busy batch thread
 * (a big batch's card messages, customers' replies, people talking) was posted last: the
 * lookup has to reach the end of the thread, not stop after its first pages.
 */
describe.each(engines)('Slack posts retried in a busy thread on %s', (engine) => {
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

  /** A message someone else posts into the thread (Slack keeps it there like any reply). */
  async function humanReply(thread: string, text: string) {
    const res = await fetch(`${h.peer.apiUrl}/chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer xoxp-someone' },
      body: JSON.stringify({ channel: CHANNEL, thread_ts: thread, text }),
    });
    expect(((await res.json()) as { ok: boolean }).ok).toBe(true);
  }

  it('a reply retried after a crash in a thread of 1200 messages is found, not posted again', async () => {
    const { batchId } = await seedSlackBatch(db.pool, { campaign: 'busy thread', n: 1 });
    await h.outbox.idle();
    const parent = (await db.pool.query(`SELECT chat_refs->'slack'->>'id' AS ts FROM batches WHERE id = $1`, [batchId])).rows[0].ts as string;
    for (let i = 0; i < 1200; i++) await humanReply(parent, `chatter ${i}`);

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
});
