import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBatchCards, loadBatchHeader } from '../../src/bot/cards.ts';
import { insertPosts } from '../../src/bot/console/queries.ts';
import type { Database } from '../../src/db/database.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign } from '../support/fixtures.ts';
import { insertBatch, startConsole, type RunningConsole } from './support.ts';

/**
 * Two deliveries of one post at once (a worker whose lease ran out while it was still
 * delivering, and the worker that took the row over): the unique key keeps one stored post.
 * The delivery that loses the race either gets the stored post back or fails, to be
 * retried; it never stores a second one.
 */
describe.each(engines)('console posts delivered twice at once on %s', (engine) => {
  let db: Database;
  let running: RunningConsole;
  beforeAll(async () => {
    db = await openTestDatabase(engine, { max: 10 });
    running = await startConsole(db);
  });
  afterAll(async () => {
    await running?.close();
    await db?.close();
  });

  const LOST_RACE = /is being stored by another delivery/;
  const count = async (sql: string, params: unknown[]) => (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM console_posts WHERE ${sql}`, params)).rows[0]!.n;

  it('a batch posted by two deliveries at once is stored once', async () => {
    for (let round = 0; round < 5; round++) {
      const campaignId = await insertCampaign(db.pool, { name: `race ${round}` });
      const { batchId } = await insertBatch(db.pool, campaignId, [{ name: 'Ana Lima' }, { name: 'Ben Okafor' }, { name: 'Cy Park' }]);
      const header = await loadBatchHeader(db.pool, running.ctx, batchId);
      const cards = await loadBatchCards(db.pool, running.ctx, batchId);
      const outcomes = await Promise.allSettled([
        running.surface.postBatch(header, cards, { retry: true }),
        running.surface.postBatch(header, cards, { retry: true }),
      ]);
      for (const o of outcomes) if (o.status === 'rejected') expect(String(o.reason)).toMatch(LOST_RACE);
      const done = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
      expect(done.length).toBeGreaterThan(0);
      for (const d of done) expect(d).toEqual(done[0]);
      expect(await count(`post_key LIKE $1`, [`b${batchId}%`])).toBe(1 + cards.length);
      // The retry of the one that lost gets what the winner stored.
      expect(await running.surface.postBatch(header, cards, { retry: true })).toEqual(done[0]);
    }
  });

  it('a thread post delivered twice at once is stored once', async () => {
    const campaignId = await insertCampaign(db.pool, { name: 'race thread' });
    const { batchId } = await insertBatch(db.pool, campaignId, [{ name: 'Di Ruiz' }]);
    const posted = await running.surface.postBatch(await loadBatchHeader(db.pool, running.ctx, batchId), await loadBatchCards(db.pool, running.ctx, batchId));
    for (let i = 0; i < 10; i++) {
      const key = { key: `t-race-${batchId}-${i}`, retry: true };
      const outcomes = await Promise.allSettled(
        Array.from({ length: 4 }, () => running.surface.postInThread(posted.parent, { text: `Di Ruiz replied ${i}` }, key)),
      );
      for (const o of outcomes) if (o.status === 'rejected') expect(String(o.reason)).toMatch(LOST_RACE);
      const refs = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
      expect(new Set(refs.map((r) => r.id)).size).toBe(1);
      expect(await count(`post_key = $1`, [key.key])).toBe(1);
    }
  });

  it('keyed and unkeyed posts in one insert come back in the order given, earlier ones not created again', async () => {
    const at = new Date();
    const post = (key: string | null, text: string) => ({ channel: 'console', threadId: null, kind: 'message' as const, model: { text }, key });
    const first = await insertPosts(db.pool, [post('mix-a', 'a'), post(null, 'x')], at);
    const again = await insertPosts(db.pool, [post(null, 'y'), post('mix-b', 'b'), post('mix-a', 'a again'), post(null, 'z')], at);
    expect(again.map((r) => [(r.post.model as { text: string }).text, r.created])).toEqual([
      ['y', true],
      ['b', true],
      ['a', false],
      ['z', true],
    ]);
    expect(again[2]!.post.id).toBe(first[0]!.post.id);
  });
});
