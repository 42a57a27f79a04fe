/**
 * The approval core decides on the text the person was shown: approve, reject and edit are
 * fenced by the version of the card (or edit form) they acted on, and Approve all by the
 * latest edit its header had seen. A refusal re-renders the card with the current text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/bot/actor.ts';
import { approveAll, approveMessage, editMessage, rejectMessage } from '../../src/bot/approvals.ts';
import { loadBatchHeader } from '../../src/bot/cards.ts';
import type { AppContext } from '../../src/context.ts';
import type { Database } from '../../src/db/database.ts';
import { auditFor } from '../../src/db/queries/audit.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { seedSlackBatch } from '../slack/support.ts';
import { testContext } from '../scheduler/support.ts';

const dana: Actor = { id: 'U1', name: 'dana', surface: 'console', isApprover: true };
const lee: Actor = { id: 'U2', name: 'lee', surface: 'console', isApprover: true };

describe.each(engines)('decisions fenced by the version shown, on %s', (engine) => {
  let db: Database;
  let ctx: AppContext;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db, { RECIPIENT_QUIET_HOURS: 'off' }, '2026-11-23T18:00:00Z');
  });
  afterAll(() => db?.close());

  const row = async (id: number) =>
    (await db.pool.query(`SELECT status, body, version, approved_by, rejected_by, edited_by FROM campaign_messages WHERE id = $1`, [id])).rows[0];
  /** Card renders waiting for the chat outbox, by dedupe key. */
  const pendingRenders = async (batchId: number) =>
    (await db.pool.query(`SELECT dedupe_key FROM chat_outbox WHERE batch_id = $1 AND status = 'pending' AND kind <> 'batch' ORDER BY dedupe_key`, [batchId])).rows.map(
      (r) => r.dedupe_key as string,
    );
  const NEW = 'Hi Customer 1, final notice: your balance is overdue, pay today at Bloom Bakery. Reply STOP to opt out';

  it('approve and reject at an older version are refused as stale, with the current card; nothing moves and nothing is audited', async () => {
    const b = await seedSlackBatch(db.pool, { campaign: 'version-approve', n: 1 });
    const id = b.messageIds[0]!;
    expect(await editMessage(ctx, lee, id, NEW, 1)).toMatchObject({ ok: true, card: { version: 2 } });
    // The edit's own render has been delivered: a stale click must render the card again.
    await db.pool.query(`UPDATE chat_outbox SET status = 'done' WHERE batch_id = $1`, [b.batchId]);

    const approved = await approveMessage(ctx, dana, id, 1);
    expect(approved).toMatchObject({
      ok: false,
      code: 'stale',
      message: 'The text changed since this card was shown: check the updated card and approve again.',
      card: { messageId: id, version: 2, body: NEW, status: 'suggested' },
    });
    expect(await rejectMessage(ctx, dana, id, 1)).toMatchObject({ ok: false, code: 'stale', card: { version: 2 } });
    expect(await row(id)).toMatchObject({ status: 'suggested', version: 2, approved_by: null, rejected_by: null });
    expect((await auditFor(db.pool, 'message', id)).map((a) => a.action)).toEqual(['edited']);
    expect(await pendingRenders(b.batchId)).toEqual([`batch_header:${b.batchId}:slack:m${id}v2`, `card:${id}:v2`]);

    // At the version shown now, the approval goes through and covers that text.
    expect(await approveMessage(ctx, dana, id, 2)).toMatchObject({ ok: true, card: { status: 'approved', body: NEW } });
    const audit = await auditFor(db.pool, 'message', id);
    expect(audit.at(-1)).toMatchObject({ action: 'approved', after: { cardVersion: 2 } });
  });

  it('a click that names no version (a card rendered before versions were carried) is refused as out of date', async () => {
    const b = await seedSlackBatch(db.pool, { campaign: 'version-none', n: 1 });
    const id = b.messageIds[0]!;
    for (const r of [await approveMessage(ctx, dana, id, null), await rejectMessage(ctx, dana, id, null)]) {
      expect(r).toMatchObject({ ok: false, code: 'stale', card: { version: 1 } });
      expect(r.message).toMatch(/card is out of date/);
    }
    expect(await editMessage(ctx, dana, id, NEW, null)).toMatchObject({ ok: false, code: 'stale', message: expect.stringMatching(/form is out of date/) });
    expect(await row(id)).toMatchObject({ status: 'suggested', version: 1, edited_by: null });
  });

  it('a status change since the card was shown is told as such (the text is the same)', async () => {
    const b = await seedSlackBatch(db.pool, { campaign: 'version-state', n: 1 });
    const id = b.messageIds[0]!;
    // Approved, then sent back to review by the scheduler: the card at v1 showed a suggestion.
    expect(await approveMessage(ctx, dana, id, 1)).toMatchObject({ ok: true });
    await db.pool.query(`UPDATE campaign_messages SET status = 'needs_review', version = version + 1, last_error = 'its send slot passed' WHERE id = $1`, [id]);
    const r = await approveMessage(ctx, lee, id, 1);
    expect(r).toMatchObject({ ok: false, code: 'stale', message: 'This message changed since this card was shown: check the updated card and try again.' });
  });

  it('already decided wins over stale: a late click is told who decided', async () => {
    const b = await seedSlackBatch(db.pool, { campaign: 'version-late', n: 1 });
    const id = b.messageIds[0]!;
    expect(await rejectMessage(ctx, lee, id, 1)).toMatchObject({ ok: true });
    expect(await approveMessage(ctx, dana, id, 1)).toEqual({ ok: false, code: 'already_done', message: 'Already rejected by lee.' });
  });

  it('an edit saved from a form opened at an older version is refused, even over an approved text; the same text is a no-op', async () => {
    const b = await seedSlackBatch(db.pool, { campaign: 'version-edit', n: 1 });
    const id = b.messageIds[0]!;
    const corrected = 'Hi Customer 1, we miss you at Bloom Bakery! Fresh pastries are back this week. Reply STOP to opt out';
    expect(await editMessage(ctx, lee, id, corrected, 1)).toMatchObject({ ok: true });
    expect(await approveMessage(ctx, lee, id, 2)).toMatchObject({ ok: true });
    const r = await editMessage(ctx, dana, id, 'Hi Customer 1, drop in any day this week at Bloom Bakery. Reply STOP to opt out', 1);
    expect(r).toMatchObject({ ok: false, code: 'stale', card: { body: corrected, status: 'approved', version: 3 } });
    expect(r.message).toMatch(/^Someone changed this message while you were editing it/);
    expect(await row(id)).toMatchObject({ status: 'approved', body: corrected, approved_by: 'lee', edited_by: 'lee', version: 3 });
    // Saving the very text it has overwrites nothing, whatever the form's version.
    expect(await editMessage(ctx, dana, id, corrected, 1)).toMatchObject({ ok: true, message: 'The text is unchanged.' });
    expect(await row(id)).toMatchObject({ approved_by: 'lee', version: 3 });
  });

  it('Approve all holds back messages edited after the mark of the header clicked, and approves the rest', async () => {
    const b = await seedSlackBatch(db.pool, { campaign: 'version-all', n: 4, lintError: [3] });
    const [first, second, third] = b.messageIds as [number, number, number, number];
    expect((await loadBatchHeader(db.pool, ctx, b.batchId)).editsThrough).toBe('0');
    // An edit before the header was shown: that header covers it.
    expect(await editMessage(ctx, lee, first, 'Hi Customer 1, warm rolls at Bloom Bakery on Friday. Reply STOP to opt out', 1)).toMatchObject({ ok: true });
    const shown = (await loadBatchHeader(db.pool, ctx, b.batchId)).editsThrough;
    expect(shown).toMatch(/^\d{16}$/);
    // An edit after it: not covered.
    expect(await editMessage(ctx, lee, second, NEW.replace('Customer 1', 'Customer 2'), 1)).toMatchObject({ ok: true });
    expect(BigInt((await loadBatchHeader(db.pool, ctx, b.batchId)).editsThrough)).toBeGreaterThan(BigInt(shown));

    const r = await approveAll(ctx, dana, b.batchId, shown);
    expect(r).toEqual({
      ok: true,
      approved: 2,
      message: `Approved 2 messages of batch #${b.batchId}. 1 with lint errors left for review (edit them first). 1 was edited since this batch was shown: check it and approve one by one.`,
    });
    expect((await row(first)).status).toBe('approved');
    expect((await row(second)).status).toBe('suggested');
    expect((await row(third)).status).toBe('approved');

    // With no mark (a header from before), no edit counts as seen.
    const c = await seedSlackBatch(db.pool, { campaign: 'version-all-none', n: 2 });
    expect(await editMessage(ctx, lee, c.messageIds[0]!, 'Hi Customer 1, warm rolls at Bloom Bakery on Friday. Reply STOP to opt out', 1)).toMatchObject({ ok: true });
    expect(await approveAll(ctx, dana, c.batchId, null)).toMatchObject({ ok: true, approved: 1 });
    expect((await row(c.messageIds[0]!)).status).toBe('suggested');
    // The current header's mark covers every edit made so far.
    const now = (await loadBatchHeader(db.pool, ctx, c.batchId)).editsThrough;
    expect(await approveAll(ctx, dana, c.batchId, now)).toMatchObject({ ok: true, approved: 1 });
    expect((await row(c.messageIds[0]!)).status).toBe('approved');
  });
});
