/**
 * A decision covers exactly the text the card showed. These drive the real Slack surface
 * (Bolt over HTTP, requests signed as Slack signs them) against the local Slack peer, with
 * the button values as Slack last displayed them (what a click on that screen sends back).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { blockActionsPayload, postToSlackEndpoint, viewSubmissionPayload } from '../peers/slack.ts';
import { CHANNEL, DANA, LEE, SECRET, eventually, postedSlackBatch, shownValue, startSlackHarness, type SlackHarness } from './support.ts';

describe.each(engines)('Slack decisions against the text the card showed, on %s', (engine) => {
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

  const postedBatch = (campaign: string, n = 2) => postedSlackBatch(db, h, { campaign, n });

  const click = (user: { id: string; name: string }, actionId: string, value: string, ref: { id: string; thread?: string }) =>
    postToSlackEndpoint(
      h.eventsUrl,
      SECRET,
      blockActionsPayload({ user, actionId, value, channel: CHANNEL, messageTs: ref.id, ...(ref.thread ? { threadTs: ref.thread } : {}) }),
    );

  const submitEdit = (user: { id: string; name: string }, meta: { messageId: number; version: number }, value: string) =>
    postToSlackEndpoint(
      h.eventsUrl,
      SECRET,
      viewSubmissionPayload({ user, callbackId: 'card_edit', privateMetadata: JSON.stringify({ ...meta, channel: CHANNEL }), blockId: 'body', actionId: 'edit_text', value }),
    );

  const row = async (id: number) =>
    (await db.pool.query(`SELECT status, body, version, approved_by, rejected_by, edited_by FROM campaign_messages WHERE id = $1`, [id])).rows[0];

  const toldTo = (user: string, pattern: RegExp) =>
    eventually(() => {
      const e = h.peer.callsTo('chat.postEphemeral').find((c) => c.body.user === user && pattern.test(String(c.body.text)));
      if (!e) throw new Error('not told yet');
      return e;
    });

  /** chat.update calls of the message at `ts` made after `from` calls had been recorded. */
  const updatesOf = (ts: string, from: number) => h.peer.calls.slice(from).filter((c) => c.method === 'chat.update' && c.body.ts === ts);

  it('Approve on a card showing the original text is refused after an edit, and the card shows the current text again', async () => {
    const b = await postedBatch('stale-approve');
    const id = b.messageIds[0]!;
    // Dana is looking at the card as it was posted: its Approve carries version 1.
    const dana = shownValue(h.peer, 'card_approve', id);
    expect(dana).toBe(`${id}:1`);

    const swapped = 'Hi Customer 1, final notice: your account balance is overdue, pay today at Bloom Bakery. Reply STOP to opt out';
    expect(await submitEdit(LEE, { messageId: id, version: 1 }, swapped)).toEqual({ status: 200, body: '' });
    expect(await row(id)).toMatchObject({ status: 'suggested', body: swapped, version: 2 });
    await eventually(() => expect(shownValue(h.peer, 'card_approve', id)).toBe(`${id}:2`));

    const before = h.peer.calls.length;
    expect((await click(DANA, 'card_approve', dana, b.refs[0]!)).status).toBe(200);
    const told = await toldTo(DANA.id, /text changed since this card was shown/);
    expect(told.body).toMatchObject({ channel: CHANNEL, thread_ts: b.refs[0]!.thread });
    expect(await row(id)).toMatchObject({ status: 'suggested', body: swapped, approved_by: null, version: 2 });
    // The refusal renders the card again, with the current text and its version.
    await eventually(() => {
      const u = updatesOf(b.refs[0]!.id, before).at(-1);
      expect(JSON.stringify(u?.body.blocks)).toContain('final notice');
      expect(JSON.stringify(u?.body.blocks)).toContain(`"value":"${id}:2"`);
    });

    // Approving the card as it is now approves the text it shows.
    expect((await click(DANA, 'card_approve', shownValue(h.peer, 'card_approve', id), b.refs[0]!)).status).toBe(200);
    await eventually(async () => expect(await row(id)).toMatchObject({ status: 'approved', approved_by: 'dana', body: swapped }));
  });

  it('a button from a card rendered before versions were carried (the id alone) decides nothing and refreshes the card', async () => {
    const b = await postedBatch('old-button');
    const id = b.messageIds[1]!;
    const before = h.peer.calls.length;
    expect((await click(DANA, 'card_approve', String(id), b.refs[1]!)).status).toBe(200);
    await toldTo(DANA.id, /card is out of date/);
    expect((await click(LEE, 'card_reject', String(id), b.refs[1]!)).status).toBe(200);
    await toldTo(LEE.id, /card is out of date/);
    expect(await row(id)).toMatchObject({ status: 'suggested', approved_by: null, rejected_by: null, version: 1 });
    await eventually(() => expect(JSON.stringify(updatesOf(b.refs[1]!.id, before).at(-1)?.body.blocks)).toContain(`"value":"${id}:1"`));
  });

  it('Reject on a card showing an older text is refused too', async () => {
    const b = await postedBatch('stale-reject');
    const id = b.messageIds[0]!;
    const lee = shownValue(h.peer, 'card_reject', id);
    const corrected = 'Hi Customer 1, we miss you at Bloom Bakery! Fresh pastries are back this week. Reply STOP to opt out';
    expect(await submitEdit(DANA, { messageId: id, version: 1 }, corrected)).toEqual({ status: 200, body: '' });
    expect((await click(LEE, 'card_reject', lee, b.refs[0]!)).status).toBe(200);
    await toldTo(LEE.id, /text changed since this card was shown/);
    expect(await row(id)).toMatchObject({ status: 'suggested', body: corrected, rejected_by: null });
  });

  it('Approve all from a header shown before an edit holds the edited message back; from the refreshed header it approves it', async () => {
    const b = await postedBatch('stale-approve-all', 3);
    const id = b.messageIds[1]!;
    const header = shownValue(h.peer, 'batch_approve_all', b.batchId);
    expect(header).toBe(`${b.batchId}:0`);

    const swapped = 'Hi Customer 2, your account is overdue, pay today at Bloom Bakery or call us now. Reply STOP to opt out';
    expect(await submitEdit(LEE, { messageId: id, version: 1 }, swapped)).toEqual({ status: 200, body: '' });

    expect((await click(DANA, 'batch_approve_all', header, { id: b.parent.id })).status).toBe(200);
    const told = await toldTo(DANA.id, new RegExp(`batch #${b.batchId}`));
    expect(told.body.text).toMatch(/^Approved 2 messages .* 1 was edited since this batch was shown: check it and approve one by one\.$/);
    expect(await row(id)).toMatchObject({ status: 'suggested', body: swapped, approved_by: null });
    for (const other of [b.messageIds[0]!, b.messageIds[2]!]) expect((await row(other)).status).toBe('approved');

    // The header re-rendered after the edit carries a later mark: Approve all there covers the edited text.
    const refreshed = await eventually(() => {
      const v = shownValue(h.peer, 'batch_approve_all', b.batchId);
      if (v === header) throw new Error('header not re-rendered yet');
      return v;
    });
    expect(refreshed).toMatch(new RegExp(`^${b.batchId}:\\d{16}$`));
    expect((await click(DANA, 'batch_approve_all', refreshed, { id: b.parent.id })).status).toBe(200);
    await eventually(async () => expect(await row(id)).toMatchObject({ status: 'approved', approved_by: 'dana', body: swapped }));
  });

  it('Approve all from a header rendered before the mark was carried (the batch id alone) approves only never-edited messages', async () => {
    const b = await postedBatch('old-approve-all', 2);
    const edited = 'Hi Customer 1, come taste our new sourdough at Bloom Bakery this week. Reply STOP to opt out';
    expect(await submitEdit(LEE, { messageId: b.messageIds[0]!, version: 1 }, edited)).toEqual({ status: 200, body: '' });
    expect((await click(DANA, 'batch_approve_all', String(b.batchId), { id: b.parent.id })).status).toBe(200);
    await toldTo(DANA.id, new RegExp(`Approved 1 message of batch #${b.batchId}\\. 1 was edited since`));
    expect((await row(b.messageIds[0]!)).status).toBe('suggested');
    expect((await row(b.messageIds[1]!)).status).toBe('approved');
  });

  it('saving an edit modal opened at v1 after someone else changed and approved the text is refused in the modal; their text stands', async () => {
    const b = await postedBatch('stale-modal');
    const id = b.messageIds[0]!;
    await click(DANA, 'card_edit', shownValue(h.peer, 'card_edit', id), b.refs[0]!);
    const open = await eventually(() => {
      const v = h.peer.callsTo('views.open').find((c) => JSON.parse((c.body.view as { private_metadata: string }).private_metadata).messageId === id);
      if (!v) throw new Error('no modal yet');
      return v;
    });
    const meta = JSON.parse((open.body.view as { private_metadata: string }).private_metadata) as { messageId: number; version: number };
    expect(meta.version).toBe(1);

    const corrected = 'Hi Customer 1, we miss you at Bloom Bakery! Fresh pastries are back this week. Reply STOP to opt out';
    expect(await submitEdit(LEE, { messageId: id, version: 1 }, corrected)).toEqual({ status: 200, body: '' });
    await click(LEE, 'card_approve', `${id}:2`, b.refs[0]!);
    await eventually(async () => expect(await row(id)).toMatchObject({ status: 'approved', approved_by: 'lee', body: corrected }));

    const res = await submitEdit(DANA, meta, 'Hi Customer 1, we miss you at Bloom Bakery! Drop in any day this week. Reply STOP to opt out');
    expect(res.status).toBe(200);
    const answer = JSON.parse(res.body) as { response_action: string; errors: Record<string, string> };
    expect(answer.response_action).toBe('errors');
    expect(answer.errors.body).toMatch(/Someone changed this message while you were editing it/);
    expect(await row(id)).toMatchObject({ status: 'approved', body: corrected, approved_by: 'lee', edited_by: 'lee' });
  });

  it('an edit modal opened after the change saves over the current version', async () => {
    const b = await postedBatch('fresh-modal');
    const id = b.messageIds[0]!;
    expect(await submitEdit(LEE, { messageId: id, version: 1 }, 'Hi Customer 1, new croissants at Bloom Bakery this week. Reply STOP to opt out')).toEqual({ status: 200, body: '' });
    // The Edit button Dana clicks is from the card before Lee's change; the modal opens with the current text and its version.
    await click(DANA, 'card_edit', `${id}:1`, b.refs[0]!);
    const open = await eventually(() => {
      const v = h.peer.callsTo('views.open').find((c) => JSON.parse((c.body.view as { private_metadata: string }).private_metadata).messageId === id);
      if (!v) throw new Error('no modal yet');
      return v;
    });
    const view = open.body.view as { private_metadata: string; blocks: { block_id?: string; element?: { initial_value?: string } }[] };
    expect(view.blocks.find((x) => x.block_id === 'body')!.element!.initial_value).toContain('new croissants');
    const meta = JSON.parse(view.private_metadata) as { messageId: number; version: number };
    expect(meta.version).toBe(2);
    const final = 'Hi Customer 1, new croissants and rye at Bloom Bakery this week. Reply STOP to opt out';
    expect(await submitEdit(DANA, meta, final)).toEqual({ status: 200, body: '' });
    expect(await row(id)).toMatchObject({ body: final, version: 3, edited_by: 'dana' });
  });
});
