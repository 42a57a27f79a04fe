import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBatchCards, loadBatchHeader } from '../../src/bot/cards.ts';
import type { Database } from '../../src/db/database.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign } from '../support/fixtures.ts';
import { call, openEvents } from './http.ts';
import { insertBatch, startConsole, type RunningConsole } from './support.ts';

/**
 * A delivery the console stored and the outbox did not record (the process died in between)
 * is delivered again: the console finds each post by its key instead of storing it twice.
 */
describe.each(engines)('console posts delivered again after a crash on %s', (engine) => {
  let db: Database;
  let running: RunningConsole;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    running = await startConsole(db);
  });
  afterAll(async () => {
    await running?.close();
    await db?.close();
  });

  const postCount = async () => (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM console_posts')).rows[0]!.n;

  it('a batch posted again (no refs were recorded) returns the same parent and cards', async () => {
    const campaignId = await insertCampaign(db.pool, { name: 'batch again' });
    const { batchId } = await insertBatch(db.pool, campaignId, [{ name: 'Ana Lima' }, { name: 'Ben Okafor' }]);
    const header = await loadBatchHeader(db.pool, running.ctx, batchId);
    const cards = await loadBatchCards(db.pool, running.ctx, batchId);
    const first = await running.surface.postBatch(header, cards);
    const stored = await postCount();

    const again = await running.surface.postBatch(header, cards, { retry: true });
    expect(again).toEqual(first);
    expect(await postCount()).toBe(stored);
    const thread = await call(running.base, `/api/threads/${first.parent.id}`);
    expect(thread.body.posts).toHaveLength(2);
  });

  it('a thread post and a channel post delivered twice under one key are stored and announced once', async () => {
    const campaignId = await insertCampaign(db.pool, { name: 'posts again' });
    const { batchId } = await insertBatch(db.pool, campaignId, [{ name: 'Cy Park' }]);
    const posted = await running.surface.postBatch(await loadBatchHeader(db.pool, running.ctx, batchId), await loadBatchCards(db.pool, running.ctx, batchId));
    const events = await openEvents(running.base);
    const reply = { text: 'Cy Park replied: see you Friday' };
    const summary = { title: 'Daily summary', text: '1 sent' };

    const firstReply = await running.surface.postInThread(posted.parent, reply, { key: 't9001', retry: false });
    const firstSummary = await running.surface.postInChannel('console', summary, { key: 'c9002', retry: false });
    const stored = await postCount();
    expect(await running.surface.postInThread(posted.parent, reply, { key: 't9001', retry: true })).toEqual(firstReply);
    expect(await running.surface.postInChannel('console', summary, { key: 'c9002', retry: true })).toEqual(firstSummary);
    expect(await postCount()).toBe(stored);

    // A post without a key is stored each time, as before.
    await running.surface.postInThread(posted.parent, reply);
    expect(await postCount()).toBe(stored + 1);
    const marker = await running.surface.postInChannel('console', { text: 'end of this test' });

    await events.next((e) => e.type === 'post' && String((e.data.post as { id: number }).id) === marker.id);
    const announced = events.seen.filter((e) => e.type === 'post').map((e) => String((e.data.post as { id: number }).id));
    expect(announced.filter((id) => id === firstReply.id)).toHaveLength(1);
    expect(announced.filter((id) => id === firstSummary.id)).toHaveLength(1);
    events.close();
  });
});
