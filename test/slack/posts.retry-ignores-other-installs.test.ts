import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { CHANNEL, seedSlackBatch, startSlackHarness, type SlackHarness } from './support.ts';

/**
 * A post's key is built from database ids (b<batchId>, c<outbox row id>, ...). The channel it
 * is looked for in may also hold posts of another smsops: a staging install sharing the
 * channel, or this install before its database was restored from a backup (the ids are
 * handed out again). A retry must not take such a post for its own.
 */
describe.each(engines)('Slack keys that another smsops used in the channel, on %s', (engine) => {
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

  /** What the other install posted: its own batch parent, with its own key in the metadata. */
  async function otherInstallPosts(key: string, text: string) {
    const res = await fetch(`${h.peer.apiUrl}/chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer xoxb-staging' },
      body: JSON.stringify({ channel: CHANNEL, text, metadata: { event_type: 'smsops_post', event_payload: { key } } }),
    });
    expect(((await res.json()) as { ok: boolean }).ok).toBe(true);
  }

  it("a batch whose first post was refused (429s) gets its own parent on the retry, not the other install's batch of the same id", async () => {
    const { rows } = await db.pool.query<{ id: number }>(`SELECT coalesce(max(id), 0) + 1 AS id FROM batches`);
    await otherInstallPosts(`b${rows[0]!.id}`, 'Staging spring promo · batch');
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
});
