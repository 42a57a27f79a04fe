/**
 * A cancel racing an approval of the same campaign (a single approve, an approve-all, an edit
 * of an approved message, which approves its new text). Every one of them takes the campaign
 * row before its messages, as the cancel does: no deadlock ("deadlock detected" used to kill
 * one of the two with an internal error), and the campaign ends cancelled with its message
 * cancelled whichever came first. The approval that comes second is refused in words; the
 * one that came first is cancelled with the rest. Races on real PostgreSQL only (PGlite runs
 * one transaction at a time); the refusals of an already cancelled campaign on both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/bot/actor.ts';
import { approveAll, approveMessage, editMessage } from '../../src/bot/approvals.ts';
import type { Database } from '../../src/db/database.ts';
import type { MessageStatus } from '../../src/domain/messageStatus.ts';
import { cancelCampaign } from '../../src/scheduler/controls.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertBatch, insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { waitForLockWaiters } from '../support/locks.ts';
import { campaignStatusOf, statusOf, testContext } from '../scheduler/support.ts';

const ana: Actor = { id: 'U1', name: 'ana', surface: 'slack', isApprover: true };
const NEW_TEXT = 'Hi! Fresh croissants this Saturday at Bloom. Reply STOP to opt out';

type Ctx = ReturnType<typeof testContext>;
interface Seeded {
  campaignId: number;
  name: string;
  batchId: number;
  id: number;
}

/** A campaign (`status`) with one batch and one message (`message`). */
async function seed(db: Database, name: string, message: MessageStatus, status = 'active'): Promise<Seeded> {
  const campaignId = await insertCampaign(db.pool, { name, status });
  const batchId = await insertBatch(db.pool, campaignId);
  const c = await insertCustomer(db.pool, { timezone: 'America/Los_Angeles', state: 'CA' });
  const id = await insertMessage(db.pool, { campaignId, batchId, status: message, phone: c.phone, customerId: c.id });
  return { campaignId, name, batchId, id };
}

const refusedClosed = (name: string) => `Campaign "${name}" is cancelled; its messages can no longer be approved.`;

/** Each way a message gets approved, from the status it starts in, and its refusal once the campaign is cancelled. */
const approvals: {
  kind: string;
  start: MessageStatus;
  act: (ctx: Ctx, s: Seeded) => Promise<{ ok: boolean; message: string }>;
  refused: (s: Seeded) => Record<string, unknown>;
}[] = [
  {
    kind: 'approve',
    start: 'suggested',
    act: (ctx, s) => approveMessage(ctx, ana, s.id, 1),
    refused: (s) => ({ ok: false, code: 'locked', message: refusedClosed(s.name) }),
  },
  {
    kind: 'approve-all',
    start: 'suggested',
    act: (ctx, s) => approveAll(ctx, ana, s.batchId, null),
    refused: (s) => ({ ok: false, approved: 0, message: refusedClosed(s.name) }),
  },
  {
    kind: 'edit of an approved message',
    start: 'approved',
    act: (ctx, s) => editMessage(ctx, ana, s.id, NEW_TEXT, 1),
    refused: () => ({ ok: false, code: 'locked', message: 'This message is cancelled; its text can no longer be edited.' }),
  },
];

describe.skipIf(!process.env.TEST_DATABASE_URL)('a cancel racing an approval on postgres', () => {
  let db: Database;
  let ctx: Ctx;
  beforeAll(async () => {
    db = await openTestDatabase('postgres');
    ctx = testContext(db);
  });
  afterAll(() => db?.close());

  /**
   * Holds `lock` (a statement locking one row) in another session, starts `first` and `second`
   * so that both wait behind it, then lets them go: they meet in that order.
   */
  async function race<A, B>(lock: [string, number], first: () => Promise<A>, second: () => Promise<B>) {
    const busy = await db.pool.connect();
    try {
      await busy.query('BEGIN');
      await busy.query(lock[0], [lock[1]]);
      const a = first();
      await waitForLockWaiters(db.pool, 1);
      const b = second();
      await waitForLockWaiters(db.pool, 2);
      await busy.query('COMMIT');
      return await Promise.all([a, b]);
    } finally {
      // A race that did not line up must not leave the row held for the next test.
      await busy.query('ROLLBACK').catch(() => undefined);
      busy.release();
    }
  }

  for (const approval of approvals) {
    it(`cancel first, then the ${approval.kind}: the ${approval.kind} is refused, the message stays cancelled`, async () => {
      const s = await seed(db, `race-cancel-first-${approval.kind}`, approval.start);
      // Contention on the campaign row (another control holding it) lines both up behind it: the cancel first.
      const [cancelled, approved] = await race(
        ['SELECT id FROM campaigns WHERE id = $1 FOR UPDATE', s.campaignId],
        () => cancelCampaign(ctx, { campaignId: s.campaignId, actor: 'ben', surface: 'discord' }),
        () => approval.act(ctx, s),
      );
      expect(cancelled).toMatchObject({ ok: true, cancelled: 1 });
      expect(approved).toMatchObject(approval.refused(s));
      expect((await campaignStatusOf(db, s.campaignId)).status).toBe('cancelled');
      expect((await statusOf(db, s.id)).status).toBe('cancelled');
    });

    it(`the ${approval.kind} first, then cancel: the cancel waits for it and cancels what it approved`, async () => {
      const s = await seed(db, `race-approval-first-${approval.kind}`, approval.start);
      // Contention on the message row (a STOP in flight) holds the approval once it has the campaign;
      // the cancel then waits for the campaign, never holding it while the approval wants it.
      const [approved, cancelled] = await race(
        ['SELECT id FROM campaign_messages WHERE id = $1 FOR UPDATE', s.id],
        () => approval.act(ctx, s),
        () => cancelCampaign(ctx, { campaignId: s.campaignId, actor: 'ben', surface: 'discord' }),
      );
      expect(approved).toMatchObject({ ok: true });
      expect(cancelled).toMatchObject({ ok: true, cancelled: 1 });
      expect((await campaignStatusOf(db, s.campaignId)).status).toBe('cancelled');
      expect((await statusOf(db, s.id)).status).toBe('cancelled');
    });
  }
});

describe.each(engines)('approvals in a campaign already cancelled on %s', (engine) => {
  let db: Database;
  let ctx: Ctx;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db);
  });
  afterAll(() => db?.close());

  it('approve and approve-all are refused with the campaign named, and nothing is approved or planned', async () => {
    // A suggestion in a cancelled campaign: a batch written while the cancel went through.
    const s = await seed(db, `closed-${engine}`, 'suggested', 'cancelled');
    expect(await approveMessage(ctx, ana, s.id, 1)).toEqual({ ok: false, code: 'locked', message: refusedClosed(s.name) });
    expect(await approveAll(ctx, ana, s.batchId, null)).toEqual({ ok: false, approved: 0, message: refusedClosed(s.name) });
    expect(await statusOf(db, s.id)).toMatchObject({ status: 'suggested', scheduled_send_time: null });
    expect((await campaignStatusOf(db, s.campaignId)).status).toBe('cancelled');
  });

  it('a cancelled campaign\'s cancelled message can be neither approved nor edited', async () => {
    const s = await seed(db, `closed-edit-${engine}`, 'approved');
    expect(await cancelCampaign(ctx, { campaignId: s.campaignId, actor: 'ben', surface: 'discord' })).toMatchObject({ ok: true, cancelled: 1 });
    expect(await approveMessage(ctx, ana, s.id, 1)).toEqual({ ok: false, code: 'locked', message: refusedClosed(s.name) });
    expect(await editMessage(ctx, ana, s.id, NEW_TEXT, 1)).toEqual({
      ok: false, code: 'locked', message: 'This message is cancelled; its text can no longer be edited.',
    });
    expect((await statusOf(db, s.id)).status).toBe('cancelled');
  });
});
