import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { auditFor } from '../../src/db/queries/audit.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import {
  blockActionsPayload,
  postToSlackEndpoint,
  slashCommandForm,
  viewSubmissionPayload,
} from '../peers/slack.ts';
import { CHANNEL, DANA, LEE, MALLORY, SECRET, eventually, postedSlackBatch, shownValue, startSlackHarness, type SlackHarness } from './support.ts';

describe.each(engines)('Slack actions end to end on %s', (engine) => {
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

  /** A posted batch: its message ids and each card's Slack ref. */
  const postedBatch = (campaign: string, n = 3, extra: { lintError?: number[] } = {}) => postedSlackBatch(db, h, { campaign, n, ...extra });

  /** A click on the button as Slack shows it now (its value names the card's version), or with an explicit value. */
  const click = (user: { id: string; name: string }, actionId: string, id: number, ref: { id: string; thread?: string }, opts: { value?: string; signature?: string; timestamp?: number } = {}) => {
    const { value = shownValue(h.peer, actionId, id), ...rest } = opts;
    return postToSlackEndpoint(
      h.eventsUrl,
      SECRET,
      blockActionsPayload({ user, actionId, value, channel: CHANNEL, messageTs: ref.id, ...(ref.thread ? { threadTs: ref.thread } : {}) }),
      rest,
    );
  };

  const opensEditOf = (body: Record<string, unknown>, id: number) =>
    (JSON.parse((body.view as { private_metadata: string }).private_metadata) as { messageId: number }).messageId === id;

  const message = async (id: number) =>
    (await db.pool.query(`SELECT status, approved_by, rejected_by, body, original_body, edited_by, version, scheduled_send_time FROM campaign_messages WHERE id = $1`, [id])).rows[0];

  it('Approve moves the card to approved, activates the campaign, plans the send and re-renders the card in place', async () => {
    const b = await postedBatch('approve-one');
    const id = b.messageIds[1]!;
    const res = await click(DANA, 'card_approve', id, b.refs[1]!);
    expect(res.status).toBe(200);
    await eventually(async () => expect(await message(id)).toMatchObject({ status: 'approved', approved_by: 'dana' }));
    expect((await message(id)).scheduled_send_time).toBeInstanceOf(Date);
    const campaign = await db.pool.query(`SELECT status FROM campaigns WHERE id = $1`, [b.campaignId]);
    expect(campaign.rows[0].status).toBe('active');
    expect((await auditFor(db.pool, 'message', id)).map((a) => a.action)).toEqual(['approved']);

    const update = await eventually(() => {
      const u = h.peer.callsTo('chat.update').find((c) => c.body.ts === b.refs[1]!.id);
      if (!u) throw new Error('no chat.update yet');
      return u;
    });
    const blocks = JSON.stringify(update.body.blocks);
    expect(blocks).toContain('Approved by dana');
    expect(blocks).toContain('sends ');
    // The whole packed message is re-rendered: the other two cards keep their buttons.
    const actionBlocks = (update.body.blocks as { type: string; block_id?: string }[]).filter((x) => x.type === 'actions');
    expect(actionBlocks.map((x) => x.block_id)).toEqual([`card_${b.messageIds[0]}_actions`, `card_${id}_actions`, `card_${b.messageIds[2]}_actions`]);
    expect(JSON.stringify(actionBlocks[1])).not.toContain('card_approve');
  });

  it('two managers clicking Approve at once make exactly one transition; the other is told who was first', async () => {
    const b = await postedBatch('double-click');
    const id = b.messageIds[0]!;
    const [r1, r2] = await Promise.all([click(DANA, 'card_approve', id, b.refs[0]!), click(LEE, 'card_approve', id, b.refs[0]!)]);
    expect([r1.status, r2.status]).toEqual([200, 200]);
    const ephemeral = await eventually(() => {
      const e = h.peer.callsTo('chat.postEphemeral').filter((c) => String(c.body.text).startsWith('Already approved by'));
      if (e.length === 0) throw new Error('no ephemeral yet');
      return e;
    });
    const row = await message(id);
    expect(row.status).toBe('approved');
    expect(ephemeral).toHaveLength(1);
    const loser = row.approved_by === 'dana' ? LEE.id : DANA.id;
    expect(ephemeral[0]!.body).toMatchObject({ user: loser, channel: CHANNEL, text: `Already approved by ${row.approved_by}.` });
    expect((await auditFor(db.pool, 'message', id)).filter((a) => a.action === 'approved')).toHaveLength(1);
  });

  it('a non-approver is refused with an ephemeral and nothing changes', async () => {
    const b = await postedBatch('not-allowed');
    const id = b.messageIds[0]!;
    const before = h.peer.callsTo('chat.postEphemeral').length;
    for (const action of ['card_approve', 'card_reject', 'card_edit']) {
      expect((await click(MALLORY, action, id, b.refs[0]!)).status).toBe(200);
    }
    await eventually(() => expect(h.peer.callsTo('chat.postEphemeral').length - before).toBe(3));
    for (const e of h.peer.callsTo('chat.postEphemeral').slice(before)) {
      expect(e.body).toMatchObject({ user: MALLORY.id });
      expect(String(e.body.text)).toMatch(/only approvers/);
    }
    expect(await message(id)).toMatchObject({ status: 'suggested', version: 1 });
    expect(h.peer.callsTo('views.open').filter((v) => opensEditOf(v.body, id))).toHaveLength(0);
    expect(await auditFor(db.pool, 'message', id)).toHaveLength(0);
  });

  it('forged and stale requests are rejected with 401 and change nothing', async () => {
    const b = await postedBatch('forged');
    const id = b.messageIds[0]!;
    const calls = h.peer.calls.length;
    const forged = await click(DANA, 'card_approve', id, b.refs[0]!, { signature: 'v0=' + '0'.repeat(64) });
    expect(forged.status).toBe(401);
    const stale = await click(DANA, 'card_approve', id, b.refs[0]!, { timestamp: Math.floor(Date.now() / 1000) - 10 * 60 });
    expect(stale.status).toBe(401);
    const wrongSecret = await postToSlackEndpoint(
      h.eventsUrl,
      'not-the-secret',
      blockActionsPayload({ user: DANA, actionId: 'card_approve', value: String(id), channel: CHANNEL, messageTs: b.refs[0]!.id }),
    );
    expect(wrongSecret.status).toBe(401);
    await h.outbox.idle(); // a whole outbox round: nothing was enqueued to post
    expect(await message(id)).toMatchObject({ status: 'suggested', version: 1 });
    expect(await auditFor(db.pool, 'message', id)).toHaveLength(0);
    expect(h.peer.calls.length).toBe(calls);
  });

  it('Reject marks the card rejected and re-renders it', async () => {
    const b = await postedBatch('reject-one');
    const id = b.messageIds[2]!;
    await click(LEE, 'card_reject', id, b.refs[2]!);
    await eventually(async () => expect(await message(id)).toMatchObject({ status: 'rejected', rejected_by: 'lee' }));
    await eventually(() =>
      expect(h.peer.callsTo('chat.update').some((c) => c.body.ts === b.refs[2]!.id && JSON.stringify(c.body.blocks).includes('Rejected by lee'))).toBe(true),
    );
  });

  it('Edit opens a prefilled modal; invalid text shows errors in the modal; a valid edit records before/after and updates the card', async () => {
    const b = await postedBatch('edit-one');
    const id = b.messageIds[0]!;
    const original = (await message(id)).body;
    await click(DANA, 'card_edit', id, b.refs[0]!);
    const open = await eventually(() => {
      const v = h.peer.callsTo('views.open').find((c) => opensEditOf(c.body, id));
      if (!v) throw new Error('no views.open yet');
      return v;
    });
    expect(String(open.body.trigger_id)).toMatch(/trigger/);
    const view = open.body.view as { callback_id: string; private_metadata: string; blocks: { block_id?: string; element?: { initial_value?: string } }[] };
    expect(view.callback_id).toBe('card_edit');
    expect(view.blocks.find((x) => x.block_id === 'body')!.element!.initial_value).toBe(original);
    expect(JSON.stringify(view.blocks)).toMatch(/GSM-7 · 1 segment/);

    const submit = (value: string, user = DANA) =>
      postToSlackEndpoint(
        h.eventsUrl,
        SECRET,
        viewSubmissionPayload({ user, callbackId: 'card_edit', privateMetadata: view.private_metadata, blockId: 'body', actionId: 'edit_text', value }),
      );
    const cases: [string, RegExp][] = [
      ['   ', /empty/],
      ['Hi {{first_name}}, come back! Reply STOP to opt out', /placeholder/],
      ['Long '.repeat(80) + 'Reply STOP to opt out', /segments/],
    ];
    for (const [text, error] of cases) {
      const r = await submit(text);
      expect(r.status).toBe(200);
      const body = JSON.parse(r.body) as { response_action: string; errors: Record<string, string> };
      expect(body.response_action).toBe('errors');
      expect(body.errors.body).toMatch(error);
    }
    expect(await message(id)).toMatchObject({ body: original, version: 1 });

    const edited = 'Hi Customer 1, your favourite pastries are back at Bloom Bakery this week. Reply STOP to opt out';
    const ok = await submit(edited);
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('');
    expect(await message(id)).toMatchObject({ body: edited, original_body: original, edited_by: 'dana', version: 2, status: 'suggested' });
    const audit = await auditFor(db.pool, 'message', id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'dana', surface: 'slack', action: 'edited', before: { body: original }, after: { body: edited } });
    await eventually(() =>
      expect(h.peer.callsTo('chat.update').some((c) => c.body.ts === b.refs[0]!.id && JSON.stringify(c.body.blocks).includes('favourite pastries'))).toBe(true),
    );
  });

  it('Approve all approves the remaining clean suggestions and leaves lint errors for review', async () => {
    const b = await postedBatch('approve-all', 5, { lintError: [3] });
    await click(LEE, 'card_reject', b.messageIds[0]!, b.refs[0]!);
    await eventually(async () => expect((await message(b.messageIds[0]!)).status).toBe('rejected'));
    const parent = (await db.pool.query(`SELECT chat_refs FROM batches WHERE id = $1`, [b.batchId])).rows[0].chat_refs.slack;
    await click(DANA, 'batch_approve_all', b.batchId, { id: parent.id });
    const told = await eventually(() => {
      const e = h.peer.callsTo('chat.postEphemeral').find((c) => String(c.body.text).includes(`batch #${b.batchId}`));
      if (!e) throw new Error('not yet');
      return e;
    });
    expect(told.body.text).toMatch(/Approved 3 messages/);
    expect(told.body.text).toMatch(/1 with lint errors/);
    const { rows } = await db.pool.query(`SELECT status, count(*)::int AS n FROM campaign_messages WHERE batch_id = $1 GROUP BY status ORDER BY status`, [b.batchId]);
    expect(rows).toEqual([
      { status: 'approved', n: 3 },
      { status: 'rejected', n: 1 },
      { status: 'suggested', n: 1 },
    ]);
    // The parent message is re-rendered with the new counts.
    await eventually(() =>
      expect(h.peer.callsTo('chat.update').some((c) => c.body.ts === parent.id && JSON.stringify(c.body.blocks).includes('3 approved'))).toBe(true),
    );
  });

  it('/campaign answers through response_url; unknown input gets help; mutating subcommands need an approver', async () => {
    await postedBatch('commands');
    const run = async (text: string, user = DANA) => {
      const id = `${Date.now()}-${Math.random()}`;
      const res = await postToSlackEndpoint(h.eventsUrl, SECRET, slashCommandForm({ command: '/campaign', text, user, channel: 'COTHER', responseUrl: h.peer.responseUrl(id) }));
      expect(res.status).toBe(200);
      return eventually(() => {
        const r = h.peer.responses.find((x) => x.id === id);
        if (!r) throw new Error('no response yet');
        return r.body as { text: string; response_type: string; blocks?: unknown[] };
      });
    };
    expect((await run('status commands')).text).toMatch(/\*commands\* \(draft\)\n3 messages: 3 suggested/);
    expect((await run('frobnicate')).text).toMatch(/don't know `frobnicate`[\s\S]*\/campaign\* commands/);
    expect((await run('')).text).toMatch(/status \[NAME\]/);
    expect((await run('pause commands', MALLORY)).text).toMatch(/only approvers/);
    const settings = await run('settings commands');
    expect(settings.text).toMatch(/hours 09:00-20:00/);
    const cancel = await run('cancel commands');
    expect(cancel.text).toMatch(/Cancel campaign \*commands\*/);
    expect(JSON.stringify(cancel.blocks)).toContain('cancel \\"commands\\" confirm');
  });
});
