import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { editMessage } from '../../src/bot/approvals.ts';
import type { Database } from '../../src/db/database.ts';
import { enqueueChatPosts } from '../../src/db/queries/outbox.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCustomer } from '../support/fixtures.ts';
import { CHANNEL, DANA, startSlackHarness, type SlackHarness } from './support.ts';

/** A 1,400-character text (10 segments): about eleven such cards fill a Slack message (24,000 characters). */
const longText = (i: number) => `Hi Customer ${i}, ` + 'we miss you at Bloom Bakery and saved a seat by the window. '.repeat(30).slice(0, 1350) + ' Reply STOP to opt out';

/**
 * A batch post interrupted after a card message reached Slack and before its refs were
 * stored. Before the retry someone edits cards of that message (its buttons are on screen),
 * so the cards no longer pack as they did. Whatever the retry does, in the end every card
 * shows in exactly one Slack message, the one its ref names.
 */
describe.each(engines)('a Slack batch retried after its cards were edited, on %s', (engine) => {
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

  let campaigns = 0;
  async function seedLongBatch(n: number) {
    const { rows: c } = await db.pool.query<{ id: number }>(
      `INSERT INTO campaigns (name, status, chat_surface, chat_channel, settings) VALUES ($2, 'draft', 'slack', $1, '{"maxSegments": 10}') RETURNING id`,
      [CHANNEL, `long texts ${++campaigns}`],
    );
    const { rows: b } = await db.pool.query<{ id: number }>(
      `INSERT INTO batches (campaign_id, segment_spec, generator, suggestion_count) VALUES ($1, 'all', 'templates', $2) RETURNING id`,
      [c[0]!.id, n],
    );
    const batchId = b[0]!.id;
    const ids: number[] = [];
    for (let i = 1; i <= n; i++) {
      const cu = await insertCustomer(db.pool, { name: `Customer ${i}` });
      const { rows } = await db.pool.query<{ id: number }>(
        `INSERT INTO campaign_messages (campaign_id, batch_id, customer_id, phone, body, segments) VALUES ($1, $2, $3, $4, $5, 10) RETURNING id`,
        [c[0]!.id, batchId, cu.id, cu.phone, longText(i)],
      );
      ids.push(Number(rows[0]!.id));
    }
    await enqueueChatPosts(db.pool, [{ surface: 'slack', kind: 'batch', dedupeKey: `batch:${batchId}`, batchId, payload: { batchId } }]);
    await h.outbox.idle();
    return { batchId, ids };
  }

  /** Waits until no chat post is pending, moving backoffs (the card updates wait on the batch) to now. */
  async function allDelivered() {
    for (let i = 0; i < 100; i++) {
      h.outbox.wake();
      await h.outbox.idle();
      const { rows } = await db.pool.query(`UPDATE chat_outbox SET next_attempt_at = now() - interval '1 second' WHERE status = 'pending' RETURNING id`);
      if (rows.length === 0) return;
    }
    throw new Error('chat posts still pending');
  }

  const slackRefs = async (batchId: number) =>
    (await db.pool.query(`SELECT id, card_refs->'slack' AS ref FROM campaign_messages WHERE batch_id = $1 ORDER BY id`, [batchId])).rows.map((r) => ({
      id: Number(r.id),
      ts: r.ref?.id as string | undefined,
    }));

  /** Card ids each live Slack message shows now: as posted (by its key), then as last updated. */
  function shownCards(): Map<string, number[]> {
    const cardsIn = (blocks: unknown) =>
      ((blocks ?? []) as { block_id?: string }[]).flatMap((b) => (/^card_(\d+)$/.exec(b.block_id ?? '') ? [Number(b.block_id!.slice(5))] : []));
    const shown = new Map<string, number[]>();
    for (const m of h.peer.messages) {
      const key = m.metadata?.event_payload.key;
      const posted = h.peer.callsTo('chat.postMessage').filter((c) => (c.body.metadata as { event_payload?: { key?: string } } | undefined)?.event_payload?.key === key);
      const updates = h.peer.callsTo('chat.update').filter((c) => c.body.ts === m.ts);
      const last = updates.at(-1) ?? posted.at(-1);
      if (last) shown.set(m.ts, cardsIn(last.body.blocks));
    }
    return shown;
  }

  /**
   * Posts a 30-card batch (three card messages), then leaves it as a crash right after the
   * second card message was posted would: that message's refs and the third message never
   * happened, the delivery still leased. `edit` then changes texts of the second message's
   * cards, the lease runs out, and everything due is delivered.
   */
  async function retriedAfterEdits(edit: (cards: number[]) => Promise<void>) {
    const { batchId, ids } = await seedLongBatch(30);
    const before = await slackRefs(batchId);
    const packs = [...new Set(before.map((r) => r.ts))];
    expect(packs).toHaveLength(3);
    const [, second, third] = packs;
    const inSecond = before.filter((r) => r.ts === second).map((r) => r.id);
    const unrecorded = ids.slice(ids.indexOf(inSecond[0]!));

    h.peer.messages.splice(h.peer.messages.findIndex((m) => m.ts === third), 1);
    await db.pool.query(`UPDATE campaign_messages SET card_refs = card_refs - 'slack' WHERE id = ANY($1::bigint[])`, [unrecorded]);
    await db.pool.query(`UPDATE batches SET post_state = 'pending' WHERE id = $1`, [batchId]);
    await db.pool.query(`UPDATE chat_outbox SET status = 'pending', done_at = NULL, next_attempt_at = now() + interval '1 hour' WHERE dedupe_key = $1`, [`batch:${batchId}`]);

    await edit(inSecond);

    // The lease runs out; the card updates waiting on the batch come due too.
    await db.pool.query(`UPDATE chat_outbox SET next_attempt_at = now() - interval '1 second' WHERE status = 'pending'`);
    await allDelivered();
    return { second: second!, inSecond, refs: await slackRefs(batchId) };
  }

  async function editAsDana(id: number, text: string) {
    const version = (await db.pool.query(`SELECT version FROM campaign_messages WHERE id = $1`, [id])).rows[0].version as number;
    const edit = await editMessage(h.ctx, { id: DANA.id, name: 'Dana', surface: 'slack', isApprover: true }, id, text, version);
    expect(edit.ok).toBe(true);
  }

  function expectEachCardShownOnceWhereItsRefSays(refs: { id: number; ts: string | undefined }[]) {
    const shown = shownCards();
    for (const { id, ts } of refs) {
      const showing = [...shown].filter(([, cards]) => cards.includes(id)).map(([at]) => at);
      expect({ id, showing }).toEqual({ id, showing: [ts] });
    }
  }

  it('cards shortened: the found message takes one card more, and shows it', async () => {
    const { second, inSecond, refs } = await retriedAfterEdits(async (cards) => {
      for (const id of cards.slice(0, 2)) await editAsDana(id, 'Hi there, we miss you! Reply STOP to opt out');
    });
    expect(refs.filter((r) => r.ts === second).map((r) => r.id)).toHaveLength(inSecond.length + 1);
    expectEachCardShownOnceWhereItsRefSays(refs);
  });

  it('cards lengthened: the found message keeps fewer cards, and stops showing the one that moved on', async () => {
    const { second, inSecond, refs } = await retriedAfterEdits(async (cards) => {
      for (const id of cards) await editAsDana(id, longText(id).slice(0, 1450) + ' Reply STOP to opt out');
    });
    expect(refs.filter((r) => r.ts === second).map((r) => r.id).length).toBeLessThan(inSecond.length);
    expectEachCardShownOnceWhereItsRefSays(refs);
  });
});
