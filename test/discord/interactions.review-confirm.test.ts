/**
 * Approving a message back in review schedules it to be sent again, and its SMS may already
 * have gone: on Discord, as on Slack and the console, Approve on it asks first, only the
 * person who clicked, repeating why it came back. The question's button is fenced on the
 * version asked about, authorised like any decision, and parsed strictly.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/bot/actor.ts';
import { approveMessage, editMessage } from '../../src/bot/approvals.ts';
import { auditFor } from '../../src/db/queries/audit.ts';
import { engines } from '../support/db.ts';
import { APPROVER_ROLE, buttonClick, postedBatch, startHarness, type Harness } from './harness.ts';
import { deliverOutbox } from './outboxWait.ts';

type Row = { components: { custom_id: string; label?: string }[] };
type Reply = { type: number; data?: { content?: string; flags?: number; embeds?: unknown[]; components?: Row[] } };

const approver = { roles: [APPROVER_ROLE], name: 'Dana' };
const guest = { roles: ['123'], name: 'Guest' };
const lee: Actor = { id: 'ULEE', name: 'Lee', surface: 'discord', isApprover: true };
const NOT_OURS = /not one of ours/;

describe.each(engines)('Discord Approve on a message back in review, on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(engine, { approverRoleId: APPROVER_ROLE });
  });
  afterAll(() => h?.close());
  beforeEach(() => h.peer.reset());

  const status = async (id: number) =>
    (await h.db.pool.query('SELECT status, body, version, approved_by FROM campaign_messages WHERE id = $1', [id])).rows[0];

  /**
   * A posted card, approved by Lee (v2), then sent back to review by reconciliation with its
   * reason (v3, as a transition bumps it); `question` is where the ephemeral question shows.
   */
  async function inReview(name: string) {
    const { messageIds, at } = await postedBatch(h, name, 2);
    const [id, other] = [messageIds[0]!, messageIds[1]!];
    expect(await approveMessage(h.ctx, lee, id, 1)).toMatchObject({ ok: true });
    const reason = `the provider shows an SMS with this text to this number, but message ${other} to the same number with the same text was also unresolved, and only one SMS is there for them: check the provider's log before approving any of them again`;
    await h.db.pool.query(`UPDATE campaign_messages SET status = 'needs_review', last_error = $2, version = version + 1 WHERE id = $1`, [id, reason]);
    h.peer.reset();
    const question = { messageId: '1300000000000000001', channelId: at(id).channelId };
    return { id, other, at, question };
  }

  const ask = async (customId: string, at: { messageId: string; channelId: string }, member = approver) => (await h.send(buttonClick(customId, at, member))).json as Reply;

  it('Approve asks first, only the clicker, repeating why the message came back; nothing is approved yet', async () => {
    const { id, other, at } = await inReview('review asks');
    const r = await ask(`approve:${id}:3`, at(id));
    expect(r).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(r.data!.content).toContain(`Needs review: the provider shows an SMS with this text to this number, but message ${other}`);
    expect(r.data!.content).toContain("check the provider's log before approving any of them again");
    expect(r.data!.content).toContain('Approving schedules it to be sent.');
    expect(r.data!.components!.flatMap((row) => row.components.map((b) => b.custom_id))).toEqual([`review_approve:${id}:3`]);
    await h.discord.idle();
    expect(h.peer.callsTo('POST', /^\/webhooks\//)).toHaveLength(0);
    expect(await status(id)).toMatchObject({ status: 'needs_review', version: 3, approved_by: 'Lee' });
  });

  it("the question's button approves, the outcome replaces the question, and the card re-renders through the outbox", async () => {
    const { id, at, question } = await inReview('review confirmed');
    const customId = (await ask(`approve:${id}:3`, at(id))).data!.components![0]!.components[0]!.custom_id;

    const done = await ask(customId, question);
    expect(done).toEqual({ type: 7, data: expect.objectContaining({ content: 'Approved by Dana.', embeds: [], components: [] }) });
    expect(await status(id)).toMatchObject({ status: 'approved', approved_by: 'Dana' });
    expect((await auditFor(h.db.pool, 'message', id)).filter((a) => a.action === 'approved').map((a) => a.actor)).toEqual(['Lee', 'Dana']);

    await deliverOutbox(h.ctx, h.discord.surface);
    const card = h.peer.callsTo('PATCH', new RegExp(`/messages/${at(id).messageId}$`)).at(-1)!.body;
    expect(JSON.stringify(card)).toContain('Approved by Dana');
  });

  it('a suggestion is still approved on one click, without a question', async () => {
    const { messageIds, at } = await postedBatch(h, 'suggestion one click', 1);
    const id = messageIds[0]!;
    const r = await ask(`approve:${id}:1`, at(id));
    expect(r.type).toBe(7);
    expect(JSON.stringify(r.data)).not.toContain('review_approve');
    expect(await status(id)).toMatchObject({ status: 'approved', approved_by: 'Dana' });
  });

  it('a card from before the message came back to review is refused as out of date, without a question', async () => {
    const { id, at } = await inReview('review old card');
    const r = await ask(`approve:${id}:1`, at(id));
    expect(r.type).toBe(7);
    expect(JSON.stringify(r.data)).not.toContain('review_approve');
    expect(r.data!.components![0]!.components[0]!.custom_id).toBe(`approve:${id}:3`);
    await h.discord.idle();
    const told = h.peer.callsTo('POST', /^\/webhooks\//).map((c) => c.body as { content: string; flags?: number });
    expect(told).toEqual([expect.objectContaining({ flags: 64, content: expect.stringContaining('This message changed since this card was shown') })]);
    expect(await status(id)).toMatchObject({ status: 'needs_review', approved_by: 'Lee' });
  });

  it("a non-approver is refused without a question, and the question's button refuses them too", async () => {
    const { id, at, question } = await inReview('review guest');
    const r = await ask(`approve:${id}:3`, at(id), guest);
    expect(r).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(r.data!.content).toMatch(/only approvers can act/);
    expect(r.data!.components).toBeUndefined();

    const forged = await ask(`review_approve:${id}:3`, question, guest);
    expect(forged).toMatchObject({ type: 7, data: { components: [] } });
    expect(forged.data!.content).toMatch(/only approvers can act/);
    expect(await status(id)).toMatchObject({ status: 'needs_review', approved_by: 'Lee' });
  });

  it('confirming after the message changed since the question is refused as out of date; nothing is approved', async () => {
    const { id, at, question } = await inReview('review stale');
    const customId = (await ask(`approve:${id}:3`, at(id))).data!.components![0]!.components[0]!.custom_id;
    const corrected = "Hi Customer 1, a table is waiting for you at Bella's this week. Reply STOP to opt out";
    expect(await editMessage(h.ctx, lee, id, corrected, 3)).toMatchObject({ ok: true });

    const r = await ask(customId, question);
    expect(r).toMatchObject({ type: 7, data: { embeds: [], components: [] } });
    expect(r.data!.content).toBe('The text changed since this card was shown: check the updated card and approve again.');
    expect(await status(id)).toMatchObject({ status: 'needs_review', body: corrected, version: 4, approved_by: 'Lee' });
  });

  it('only the exact id the question carries approves: a forged or malformed one is not ours', async () => {
    const { id, question } = await inReview('review forged');
    for (const customId of ['review_approve:abc', `review_approve:${id}`, `review_approve:${id}:3:1`, `review_approve:${id}:3x`, `review_approve:-${id}:3`, `review_approve:${id}:1234567890`]) {
      const r = await ask(customId, question);
      expect(r).toMatchObject({ type: 4, data: { flags: 64 } });
      expect(r.data!.content).toMatch(NOT_OURS);
    }
    expect(await status(id)).toMatchObject({ status: 'needs_review', approved_by: 'Lee' });
    expect((await ask(`review_approve:${id}:3`, question)).data!.content).toBe('Approved by Dana.');
  });
});
