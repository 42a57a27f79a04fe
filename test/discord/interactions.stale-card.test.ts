/**
 * On Discord too, a decision covers exactly the text the card showed: buttons carry the
 * card's version (`approve:<id>:<version>`), the edit modal the version it opened with, and
 * Approve all the mark of the edits its header had seen. A stale click is refused to the
 * person who clicked, and the message it was on is replaced by the current cards.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/bot/actor.ts';
import { approveMessage, editMessage } from '../../src/bot/approvals.ts';
import { engines } from '../support/db.ts';
import { APPROVER_ROLE, buttonClick, CHANNEL_ID, modalSubmit, postedBatch, startHarness, type Harness } from './harness.ts';
import { deliverOutbox } from './outboxWait.ts';

type Row = { components: { custom_id: string }[] };
type Reply = {
  type: number;
  data?: { content?: string; flags?: number; embeds?: { description: string }[]; components?: Row[]; custom_id?: string };
};

const approver = { roles: [APPROVER_ROLE], name: 'Dana' };
const lee: Actor = { id: 'ULEE', name: 'Lee', surface: 'discord', isApprover: true };

describe.each(engines)('Discord decisions on an out-of-date card, on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(engine, { approverRoleId: APPROVER_ROLE });
  });
  afterAll(() => h?.close());
  beforeEach(() => h.peer.reset());

  const posted = (name: string, n: number) => postedBatch(h, name, n);

  const status = async (id: number) =>
    (await h.db.pool.query('SELECT status, body, version, approved_by, rejected_by, edited_by FROM campaign_messages WHERE id = $1', [id])).rows[0];
  /** The ephemeral follow-ups sent after an answer that updated the card message. */
  const followUps = () => h.peer.callsTo('POST', /^\/webhooks\//).map((c) => c.body as { content: string; flags?: number });

  const NEW = "Hi Customer 1, final notice: your balance at Bella's is overdue, pay today. Reply STOP to opt out";

  it('Approve from a card showing the text before an edit is refused; the card message shows the current text and buttons', async () => {
    const { messageIds, at } = await posted('stale approve', 2);
    const id = messageIds[0]!;
    expect(await editMessage(h.ctx, lee, id, NEW, 1)).toMatchObject({ ok: true });

    const r = (await h.send(buttonClick(`approve:${id}:1`, at(id), approver))).json as Reply;
    expect(r.type).toBe(7);
    expect(r.data!.embeds![0]!.description).toContain('final notice');
    expect(r.data!.components![0]!.components.map((x) => x.custom_id)).toEqual([`approve:${id}:2`, `edit:${id}:2`, `reject:${id}:2`]);
    await h.discord.idle();
    expect(followUps()).toEqual([expect.objectContaining({ flags: 64, content: expect.stringContaining('The text changed since this card was shown') })]);
    expect(await status(id)).toMatchObject({ status: 'suggested', body: NEW, approved_by: null });

    // The card as it is now approves what it shows.
    expect(((await h.send(buttonClick(`approve:${id}:2`, at(id), approver))).json as Reply).type).toBe(7);
    expect(await status(id)).toMatchObject({ status: 'approved', approved_by: 'Dana', body: NEW });
  });

  it('Reject, and buttons rendered before versions were carried, decide nothing on an out-of-date card', async () => {
    const { messageIds, at } = await posted('stale reject', 1);
    const id = messageIds[0]!;
    const old = (await h.send(buttonClick(`approve:${id}`, at(id), approver))).json as Reply;
    expect(old.type).toBe(7);
    expect(old.data!.components![0]!.components[0]!.custom_id).toBe(`approve:${id}:1`);
    expect(await editMessage(h.ctx, lee, id, NEW, 1)).toMatchObject({ ok: true });
    expect(((await h.send(buttonClick(`reject:${id}:1`, at(id), approver))).json as Reply).type).toBe(7);
    await h.discord.idle();
    expect(followUps().map((f) => f.content)).toEqual([expect.stringMatching(/card is out of date/), expect.stringMatching(/text changed since this card was shown/)]);
    expect(await status(id)).toMatchObject({ status: 'suggested', rejected_by: null, approved_by: null });
  });

  it('an edit modal opened at v1 and saved after someone else changed and approved the text is refused, with the text to paste again', async () => {
    const { messageIds, at } = await posted('stale modal', 1);
    const id = messageIds[0]!;
    const open = (await h.send(buttonClick(`edit:${id}:1`, at(id), approver))).json as Reply;
    expect(open.data!.custom_id).toBe(`edit_modal:${id}:1`);

    const corrected = "Hi Customer 1, we miss you at Bella's! Fresh tiramisu this week. Reply STOP to opt out";
    expect(await editMessage(h.ctx, lee, id, corrected, 1)).toMatchObject({ ok: true });
    expect(await approveMessage(h.ctx, lee, id, 2)).toMatchObject({ ok: true });

    const mine = "Hi Customer 1, drop in at Bella's any day this week. Reply STOP to opt out";
    const r = (await h.send(modalSubmit(`edit_modal:${id}:1`, mine, at(id), approver))).json as Reply;
    expect(r.type).toBe(7);
    expect(r.data!.embeds![0]!.description).toContain('Fresh tiramisu');
    await h.discord.idle();
    const [told] = followUps();
    expect(told!.flags).toBe(64);
    expect(told!.content).toContain('Your edit was not saved');
    expect(told!.content).toContain('Someone changed this message while you were editing it');
    expect(told!.content).toContain(mine);
    expect(await status(id)).toMatchObject({ status: 'approved', body: corrected, approved_by: 'Lee', edited_by: 'Lee' });

    // A modal from before versions were carried cannot save over anything either.
    const older = (await h.send(modalSubmit(`edit_modal:${id}`, mine, at(id), approver))).json as Reply;
    expect(older.type).toBe(7);
    expect((await status(id)).body).toBe(corrected);
  });

  it('Approve all carries the header mark through its confirmation and holds back a message edited after the header was shown', async () => {
    const { batchId, messageIds, parentAt, headerIds } = await posted('stale approve all', 3);
    expect(headerIds).toEqual([`approve_all:${batchId}:0`, `reject_all:${batchId}`]);
    expect(await editMessage(h.ctx, lee, messageIds[1]!, NEW.replace('Customer 1', 'Customer 2'), 1)).toMatchObject({ ok: true });

    const ask = (await h.send(buttonClick(headerIds[0]!, parentAt, approver))).json as Reply;
    const confirmId = ask.data!.components![0]!.components[0]!.custom_id;
    expect(confirmId).toBe(`confirm:approve_all:${batchId}:0`);
    const done = (await h.send(buttonClick(confirmId, parentAt, approver))).json as Reply;
    expect(done.data!.content).toBe(`Approved 2 messages of batch #${batchId}. 1 was edited since this batch was shown: check it and approve one by one.`);
    expect((await status(messageIds[1]!)).status).toBe('suggested');
    for (const id of [messageIds[0]!, messageIds[2]!]) expect((await status(id)).status).toBe('approved');

    // The header re-rendered since carries a later mark, which covers the edit.
    h.peer.reset();
    await deliverOutbox(h.ctx, h.discord.surface);
    const patched = h.peer.callsTo('PATCH', new RegExp(`^/channels/${CHANNEL_ID}/messages/${parentAt.messageId}$`)).at(-1)!.body as { components: Row[] };
    const [approveAll] = patched.components[0]!.components.map((x) => x.custom_id);
    expect(approveAll).toMatch(new RegExp(`^approve_all:${batchId}:\\d{16}$`));
    const again = (await h.send(buttonClick(approveAll!, parentAt, approver))).json as Reply;
    const confirmAgain = again.data!.components![0]!.components[0]!.custom_id;
    expect(confirmAgain.length).toBeLessThanOrEqual(100);
    expect(((await h.send(buttonClick(confirmAgain, parentAt, approver))).json as Reply).data!.content).toBe(`Approved 1 message of batch #${batchId}.`);
    expect((await status(messageIds[1]!)).status).toBe('approved');
  });
});
