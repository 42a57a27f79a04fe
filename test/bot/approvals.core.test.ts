import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/bot/actor.ts';
import { approveAll, approveMessage, editMessage, rejectAll, rejectMessage, validateEdit } from '../../src/bot/approvals.ts';
import { runCampaignCommand } from '../../src/bot/commands.ts';
import { ManualClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { AppContext } from '../../src/context.ts';
import type { Database } from '../../src/db/database.ts';
import { auditFor } from '../../src/db/queries/audit.ts';
import { silentLogger } from '../../src/log.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertMessage } from '../support/fixtures.ts';
import { renderProgress } from '../../src/scheduler/progress.ts';
import { seedSlackBatch } from '../slack/support.ts';

const dana: Actor = { id: 'U1', name: 'dana', surface: 'console', isApprover: true };
const viewer: Actor = { id: 'U2', name: 'val', surface: 'console', isApprover: false };

describe.each(engines)('approval core on %s', (engine) => {
  let db: Database;
  let ctx: AppContext & { clock: ManualClock };
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = { config: loadConfig({ RECIPIENT_QUIET_HOURS: 'off' }), db, log: silentLogger, clock: new ManualClock('2026-11-23T18:00:00Z') };
  });
  afterAll(() => db?.close());

  const row = async (id: number) =>
    (await db.pool.query(`SELECT status, body, original_body, version, segments, encoding, edited_by, approved_by FROM campaign_messages WHERE id = $1`, [id])).rows[0];
  const outboxKinds = async (batchId: number) =>
    (await db.pool.query(`SELECT kind, dedupe_key FROM chat_outbox WHERE batch_id = $1 AND kind <> 'batch' ORDER BY id`, [batchId])).rows;

  it('only approvers may act: the others change nothing and leave no audit', async () => {
    const b = await seedSlackBatch(db.pool, { campaign: 'core-auth', n: 2 });
    const id = b.messageIds[0]!;
    for (const r of [
      await approveMessage(ctx, viewer, id, 1),
      await rejectMessage(ctx, viewer, id, 1),
      await editMessage(ctx, viewer, id, 'New text. Reply STOP to opt out', 1),
    ]) {
      expect(r).toMatchObject({ ok: false, code: 'not_authorized' });
    }
    expect(await approveAll(ctx, viewer, b.batchId, null)).toMatchObject({ ok: false, approved: 0 });
    expect(await rejectAll(ctx, viewer, b.batchId)).toMatchObject({ ok: false, rejected: 0 });
    expect(await row(id)).toMatchObject({ status: 'suggested', version: 1 });
    expect(await auditFor(db.pool, 'message', id)).toHaveLength(0);
    expect(await outboxKinds(b.batchId)).toHaveLength(0);
  });

  it('approve audits once, activates the campaign, enqueues the card, header and progress re-render; a second approve is already_done', async () => {
    const b = await seedSlackBatch(db.pool, { campaign: 'core-approve', n: 2 });
    const id = b.messageIds[0]!;
    const first = await approveMessage(ctx, dana, id, 1);
    expect(first).toMatchObject({ ok: true, card: { messageId: id, status: 'approved', actions: ['edit'] } });
    expect(first.ok && first.card.statusLine).toMatch(/^Approved by dana/);
    expect(await approveMessage(ctx, { ...dana, name: 'lee' }, id, 1)).toEqual({ ok: false, code: 'already_done', message: 'Already approved by dana.' });
    expect(await rejectMessage(ctx, dana, id, 1)).toMatchObject({ ok: false, code: 'already_done' });
    const audit = await auditFor(db.pool, 'message', id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'dana', action: 'approved', before: { status: 'suggested' }, after: { status: 'approved', actorId: 'U1' } });
    expect((await auditFor(db.pool, 'campaign', b.campaignId)).map((a) => a.action)).toContain('campaign_active');
    expect(await outboxKinds(b.batchId)).toEqual([
      { kind: 'card', dedupe_key: `card:${id}:v2` },
      { kind: 'batch_header', dedupe_key: `batch_header:${b.batchId}:slack:m${id}v2` },
      // The progress counts what waits for approval: one fewer now (coalesced per 30 s).
      { kind: 'progress', dedupe_key: expect.stringMatching(new RegExp(`^progress:${b.batchId}:\\d+$`)) },
    ]);
  });

  it("a batch's progress follows approvals and rejections once its campaign has an approval; an edit changes no count", async () => {
    const b = await seedSlackBatch(db.pool, { campaign: 'core-progress', n: 3 });
    const [first, second, third] = b.messageIds as [number, number, number];
    const progressRows = async () => (await outboxKinds(b.batchId)).filter((k) => k.kind === 'progress');
    // Nothing approved yet (a draft campaign): no progress message to show.
    expect(await rejectMessage(ctx, dana, first, 1)).toMatchObject({ ok: true });
    expect(await progressRows()).toEqual([]);
    expect(await approveMessage(ctx, dana, second, 1)).toMatchObject({ ok: true });
    expect(await progressRows()).toHaveLength(1);
    expect((await renderProgress(db.pool, ctx, b.batchId)).text).toBe('Sending. 0 of 2 sent, 1 to go, 1 to approve.');
    // An edit changes no count: no progress edit in the next 30-second bucket.
    ctx.clock.advance(30_000);
    const approved = await row(second);
    expect(await editMessage(ctx, dana, second, 'Hi! Come by this week. Reply STOP to opt out', approved.version)).toMatchObject({ ok: true });
    expect(await progressRows()).toHaveLength(1);
    // Rejecting the last suggestion does: a progress edit in that bucket, which clears "1 to approve".
    expect(await rejectMessage(ctx, dana, third, 1)).toMatchObject({ ok: true });
    expect(await progressRows()).toHaveLength(2);
    expect((await renderProgress(db.pool, ctx, b.batchId)).text).toBe('Sending. 0 of 1 sent, 1 to go.');
  });

  it('validateEdit names each problem; editMessage stores the first original, bumps the version and audits before/after', async () => {
    const b = await seedSlackBatch(db.pool, { campaign: 'core-edit', n: 1 });
    const id = b.messageIds[0]!;
    const original = (await row(id)).body;
    expect((await validateEdit(ctx, id, '')).errors.join()).toMatch(/empty/);
    expect((await validateEdit(ctx, id, 'Hi [FirstName]! Reply STOP to opt out')).errors.join()).toMatch(/placeholder/);
    const long = await validateEdit(ctx, id, 'Olá 😀 '.repeat(30));
    expect(long.info.encoding).toBe('UCS-2');
    expect(long.errors.join()).toMatch(/segments.*UCS-2/);
    const bad = await editMessage(ctx, dana, id, '', 1);
    expect(bad).toMatchObject({ ok: false, code: 'invalid' });
    expect(await row(id)).toMatchObject({ body: original, version: 1 });

    const v2 = 'Hi! Fresh croissants this Saturday at Bloom. Reply STOP to opt out';
    const v3 = 'Hi! Fresh croissants every Saturday at Bloom. Reply STOP to opt out';
    expect(await editMessage(ctx, dana, id, v2, 1)).toMatchObject({ ok: true, card: { body: v2, version: 2 } });
    expect(await editMessage(ctx, { ...dana, name: 'lee' }, id, v3, 2)).toMatchObject({ ok: true });
    expect(await row(id)).toMatchObject({ body: v3, original_body: original, version: 3, edited_by: 'lee', segments: 1, encoding: 'GSM-7', status: 'suggested' });
    const audit = await auditFor(db.pool, 'message', id);
    expect(audit.map((a) => [a.actor, a.action, (a.before as { body: string }).body, (a.after as { body: string }).body])).toEqual([
      ['dana', 'edited', original, v2],
      ['lee', 'edited', v2, v3],
    ]);
  });

  it('an edit of an approved message makes the editor its approver: approved_by names who approved the text that goes', async () => {
    const b = await seedSlackBatch(db.pool, { campaign: 'core-edit-approved', n: 1 });
    const id = b.messageIds[0]!;
    expect(await approveMessage(ctx, dana, id, 1)).toMatchObject({ ok: true });
    expect(await row(id)).toMatchObject({ status: 'approved', approved_by: 'dana' });
    const lee: Actor = { id: 'U3', name: 'lee', surface: 'slack', isApprover: true };
    expect(await editMessage(ctx, lee, id, 'See you this week? Reply STOP to opt out', 2)).toMatchObject({ ok: true });
    expect(await row(id)).toMatchObject({ status: 'approved', approved_by: 'lee', edited_by: 'lee', body: 'See you this week? Reply STOP to opt out' });
    // A suggestion's edit approves nothing.
    const other = await insertMessage(db.pool, { campaignId: b.campaignId, status: 'suggested' });
    expect(await editMessage(ctx, lee, other, 'Hello again. Reply STOP to opt out', 1)).toMatchObject({ ok: true });
    expect(await row(other)).toMatchObject({ status: 'suggested', approved_by: null, edited_by: 'lee' });
  });

  it('refuses to edit a message that is sent or cancelled', async () => {
    const b = await seedSlackBatch(db.pool, { campaign: 'core-locked', n: 0 });
    for (const status of ['sent', 'cancelled'] as const) {
      const id = await insertMessage(db.pool, { campaignId: b.campaignId, status });
      expect(await editMessage(ctx, dana, id, 'Changed. Reply STOP to opt out', 1)).toMatchObject({ ok: false, code: 'locked' });
      expect(await approveMessage(ctx, dana, id, 1)).toMatchObject({ ok: false, code: 'locked' });
    }
  });

  it('approve all counts what it approved and skips lint errors; reject all takes the rest', async () => {
    const b = await seedSlackBatch(db.pool, { campaign: 'core-bulk', n: 6, lintError: [0, 1] });
    await rejectMessage(ctx, dana, b.messageIds[5]!, 1);
    expect(await approveMessage(ctx, dana, b.messageIds[0]!, 1)).toMatchObject({ ok: false, code: 'invalid' });
    const a = await approveAll(ctx, dana, b.batchId, null);
    expect(a).toMatchObject({ ok: true, approved: 3 });
    expect(a.message).toMatch(/2 with lint errors/);
    const r = await rejectAll(ctx, dana, b.batchId);
    expect(r).toMatchObject({ ok: true, rejected: 2 });
    const { rows } = await db.pool.query(`SELECT status, count(*)::int AS n FROM campaign_messages WHERE batch_id = $1 GROUP BY status ORDER BY status`, [b.batchId]);
    expect(rows).toEqual([
      { status: 'approved', n: 3 },
      { status: 'rejected', n: 3 },
    ]);
    expect(await approveAll(ctx, dana, 999_999, null)).toMatchObject({ ok: false, approved: 0 });
  });

  it('/campaign resolves the one running campaign of the channel and never throws on bad input', async () => {
    await seedSlackBatch(db.pool, { campaign: 'core-cmd', n: 1 });
    const slackDana: Actor = { ...dana, surface: 'slack' };
    const status = await runCampaignCommand(ctx, slackDana, { text: 'status', channel: 'CCAMPAIGNS' });
    expect(status.text).toMatch(/\*core-/); // several campaigns in this channel: all are listed
    for (const text of ['report nope', 'settings', 'test', 'generate', 'cancel "no such"', '"unclosed', 'status nope']) {
      const r = await runCampaignCommand(ctx, slackDana, { text, channel: 'CEMPTY' });
      expect(r.visibility).toBe('ephemeral');
      expect(r.text).not.toMatch(/at .*\.ts:\d+/);
      expect(r.text.length).toBeGreaterThan(10);
    }
    expect((await runCampaignCommand(ctx, viewer, { text: 'cancel core-cmd confirm', channel: 'x' })).text).toMatch(/only approvers/);
  });
});
