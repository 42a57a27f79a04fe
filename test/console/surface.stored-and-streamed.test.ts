import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBatchCards, loadBatchHeader } from '../../src/bot/cards.ts';
import type { Database } from '../../src/db/database.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign } from '../support/fixtures.ts';
import { call, openEvents } from './http.ts';
import { insertBatch, startConsole, type RunningConsole } from './support.ts';

describe.each(engines)('the console surface stores posts and streams them on %s', (engine) => {
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

  it('an empty database is offered demo data', async () => {
    const r = await call(running.base, '/api/channel');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, channel: 'console', posts: [], empty: true });
  });

  it('a posted batch is a channel post whose thread holds the cards in order, announced live', async () => {
    const events = await openEvents(running.base);
    expect(events.status).toBe(200);
    expect(events.contentType).toMatch(/^text\/event-stream/);
    const campaignId = await insertCampaign(db.pool, { name: 'stored batch' });
    const { batchId, messageIds } = await insertBatch(db.pool, campaignId, [{ name: 'Ana Lima' }, { name: 'Ben Okafor' }, { name: 'Cy Park' }]);
    const header = await loadBatchHeader(db.pool, running.ctx, batchId);
    const cards = await loadBatchCards(db.pool, running.ctx, batchId);

    const posted = await running.surface.postBatch(header, cards);

    expect(Object.keys(posted.cards).map(Number).sort()).toEqual([...messageIds].sort());
    const channel = await call(running.base, '/api/channel');
    const parent = (channel.body.posts as { id: number; kind: string; replyCount: number; model: { batchId: number } }[]).at(-1)!;
    expect(parent).toMatchObject({ id: Number(posted.parent.id), kind: 'batch', replyCount: 3, model: { batchId } });
    expect(channel.body.empty).toBe(false);

    const thread = await call(running.base, `/api/threads/${parent.id}`);
    const posts = thread.body.posts as { kind: string; threadId: number; model: { messageId: number; customerName: string } }[];
    expect(posts.map((p) => p.model.messageId)).toEqual(messageIds);
    expect(posts.every((p) => p.kind === 'card' && p.threadId === parent.id)).toBe(true);
    expect(posts[0]!.model.customerName).toBe('Ana Lima');
    const secondCard = (thread.body.posts as { id: number }[])[1]!;
    expect(posted.cards[messageIds[1]!]).toEqual({ channel: 'console', id: String(secondCard.id), thread: String(parent.id) });

    const live = await events.next((e) => e.type === 'post' && (e.data.post as { id: number }).id === parent.id);
    expect(live.data.post).toMatchObject({ kind: 'batch', threadId: null, replyCount: 3 });
    events.close();
  });

  it('thread messages, channel messages and in-place updates reach the API and the stream', async () => {
    const campaignId = await insertCampaign(db.pool, { name: 'thread posts' });
    const { batchId } = await insertBatch(db.pool, campaignId, [{ name: 'Dee Shah' }]);
    const posted = await running.surface.postBatch(
      await loadBatchHeader(db.pool, running.ctx, batchId),
      await loadBatchCards(db.pool, running.ctx, batchId),
    );
    const events = await openEvents(running.base);

    const progress = await running.surface.postInThread(posted.parent, { title: 'Progress', text: '0 of 1 sent', tone: 'info' });
    await running.surface.updateMessage(progress, { title: 'Progress', text: '1 of 1 sent', tone: 'success' });
    const optOut = await running.surface.postInThread(posted.parent, { text: 'Dee Shah replied STOP: opted out', tone: 'warning' });
    const summary = await running.surface.postInChannel('console', {
      title: 'Daily summary',
      text: '1 sent',
      fields: [{ label: 'Opt-outs', value: '1' }],
    });

    const thread = await call(running.base, `/api/threads/${posted.parent.id}`);
    const messages = (thread.body.posts as { id: number; kind: string; model: { text: string } }[]).filter((p) => p.kind === 'message');
    expect(messages.map((m) => [String(m.id), m.model.text])).toEqual([
      [progress.id, '1 of 1 sent'],
      [optOut.id, 'Dee Shah replied STOP: opted out'],
    ]);
    const channel = await call(running.base, '/api/channel');
    expect((channel.body.posts as { id: number; model: unknown }[]).at(-1)).toMatchObject({
      id: Number(summary.id),
      model: { title: 'Daily summary', fields: [{ label: 'Opt-outs', value: '1' }] },
    });

    const updated = await events.next((e) => e.type === 'update' && String((e.data.post as { id: number }).id) === progress.id);
    expect(updated.data.post).toMatchObject({ model: { text: '1 of 1 sent', tone: 'success' } });
    const inThread = await events.next((e) => e.type === 'post' && String((e.data.post as { id: number }).id) === optOut.id);
    expect(inThread.data.post).toMatchObject({ threadId: Number(posted.parent.id) });
    events.close();
  });

  it('a card re-render replaces the stored card, and a stale ref is an error the outbox can retry', async () => {
    const campaignId = await insertCampaign(db.pool, { name: 'card update' });
    const { batchId, messageIds } = await insertBatch(db.pool, campaignId, [{ name: 'Eve Moss' }]);
    const cards = await loadBatchCards(db.pool, running.ctx, batchId);
    const posted = await running.surface.postBatch(await loadBatchHeader(db.pool, running.ctx, batchId), cards);
    const ref = posted.cards[messageIds[0]!]!;

    await running.surface.updateCard(ref, { ...cards[0]!, status: 'approved', statusLine: 'Approved by Dana', actions: ['edit'] });

    const thread = await call(running.base, `/api/threads/${posted.parent.id}`);
    expect((thread.body.posts as { model: unknown }[])[0]!.model).toMatchObject({ status: 'approved', statusLine: 'Approved by Dana', actions: ['edit'] });
    await expect(running.surface.updateCard({ channel: 'console', id: '999999' }, cards[0]!)).rejects.toMatchObject({
      code: 'console_post_missing',
    });
  });

  it('resuming an interrupted batch post adds the missing cards under the existing parent', async () => {
    const campaignId = await insertCampaign(db.pool, { name: 'resumed batch' });
    const { batchId, messageIds } = await insertBatch(db.pool, campaignId, [{ name: 'Fay Ruiz' }, { name: 'Gus Tan' }]);
    const header = await loadBatchHeader(db.pool, running.ctx, batchId);
    const cards = await loadBatchCards(db.pool, running.ctx, batchId);
    const first = await running.surface.postBatch(header, cards.slice(0, 1));
    const reported: unknown[] = [];

    const second = await running.surface.postBatch(header, cards.slice(1), {
      parent: first.parent,
      onPosted: async (part) => void reported.push(part),
    });

    expect(second.parent).toEqual(first.parent);
    expect(reported).toEqual([{ cards: second.cards }]);
    const thread = await call(running.base, `/api/threads/${first.parent.id}`);
    expect((thread.body.posts as { model: { messageId: number } }[]).map((p) => p.model.messageId)).toEqual(messageIds);
    const channel = await call(running.base, '/api/channel');
    expect((channel.body.posts as { model: { batchId?: number } }[]).filter((p) => p.model.batchId === batchId)).toHaveLength(1);
  });

  it('an unknown thread is a 404 with a sentence', async () => {
    const r = await call(running.base, '/api/threads/987654');
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ ok: false, code: 'not_found' });
  });
});
