import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { enqueueChatPosts } from '../../src/db/queries/outbox.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { seedSlackBatch, startSlackHarness, type SlackHarness } from './support.ts';

/**
 * Slack took a post and its answer was lost; the look for it is then refused too (429s past
 * the client's retries). The post must neither go out again blind nor be stuck: the delivery
 * fails, and the next one looks again and finds it.
 */
describe.each(engines)('a Slack post whose look-up is refused, on %s', (engine) => {
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

  it('is not posted again blind, and the next delivery finds it', async () => {
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
