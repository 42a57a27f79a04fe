/**
 * Delivery status callbacks: recorded once per (provider id, status), applied to the
 * message only when they move it forward along the state machine (a 'sent' arriving after
 * 'delivered' is recorded and changes nothing), then the card and progress re-render.
 * A callback can beat the record of its send (fast carriers answer within milliseconds):
 * it is kept, and the record applies it. The two take turns on the provider id, so one of
 * them always sees the other's work (see lockProviderIds).
 */
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/database.ts';
import { transitionMessage } from '../db/queries/transition.ts';
import type { MessageStatus } from '../domain/messageStatus.ts';
import { enforceErrorBudget } from '../scheduler/errorBudget.ts';
import { enqueueCoalescedCards } from '../scheduler/posts.ts';

export interface StatusUpdate {
  providerMessageId: string;
  /** The provider's word: queued, sending, sent, delivered, undelivered, failed, ... */
  status: string;
  errorCode?: string | undefined;
  payload?: Record<string, unknown>;
}

/** Provider statuses that move a message, and the statuses it may move from. */
const FINAL: Record<string, { to: MessageStatus; from: MessageStatus[] }> = {
  delivered: { to: 'delivered', from: ['sent', 'undelivered'] },
  undelivered: { to: 'undelivered', from: ['sent', 'delivered'] },
  failed: { to: 'failed', from: ['sent'] },
};

export async function handleStatusCallback(ctx: AppContext, u: StatusUpdate): Promise<{ duplicate: boolean; changed: boolean }> {
  const r = await ctx.db.tx(async (c) => {
    await lockProviderIds(c, [u.providerMessageId]);
    const ins = await c.query(
      `INSERT INTO delivery_events (provider_message_id, status, error_code, payload, received_at)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider_message_id, status) DO NOTHING RETURNING id`,
      [u.providerMessageId, u.status, u.errorCode ?? null, JSON.stringify(u.payload ?? {}), ctx.clock.now()],
    );
    const applied = ins.rowCount ? await applyDeliveryStatus(c, ctx, u.providerMessageId, u.status, u.errorCode) : null;
    // A failure is checked against the error budget even when this delivery is a duplicate:
    // the first one may have committed and lost its answer (then this is its rerun).
    const failedIn = FAILED.includes(u.status) ? (applied ?? (await failedMessageCampaign(c, u.providerMessageId))) : null;
    return { duplicate: !ins.rowCount, changed: applied !== null, failedIn };
  }, { rerunnable: true }); // once per (provider id, status): a second run is a duplicate
  if (r.failedIn !== null) await ctx.db.tx((c) => enforceErrorBudget(c, ctx, r.failedIn!), { rerunnable: true });
  return { duplicate: r.duplicate, changed: r.changed };
}

const FAILED = ['failed', 'undelivered'];

/** The campaign of the message that owns `providerMessageId`, when that message failed. */
async function failedMessageCampaign(q: Queryable, providerMessageId: string): Promise<number | null> {
  const { rows } = await q.query<{ campaign_id: number }>(
    `SELECT campaign_id FROM campaign_messages WHERE provider_message_id = $1 AND status = ANY($2::text[])`,
    [providerMessageId, FAILED],
  );
  return rows[0] ? Number(rows[0].campaign_id) : null;
}

/**
 * Moves the message that owns `providerMessageId` to the status the provider reported,
 * if that is a step forward. Returns its campaign id when it moved, else null.
 */
export async function applyDeliveryStatus(
  q: Queryable,
  ctx: AppContext,
  providerMessageId: string,
  status: string,
  errorCode?: string | null,
): Promise<number | null> {
  const rule = FINAL[status];
  if (!rule) return null;
  const { rows } = await q.query<{ id: number; status: MessageStatus; batch_id: number | null; campaign_id: number }>(
    'SELECT id, status, batch_id, campaign_id FROM campaign_messages WHERE provider_message_id = $1',
    [providerMessageId],
  );
  const m = rows[0];
  if (!m || !rule.from.includes(m.status)) return null;
  const now = ctx.clock.now();
  const moved = await transitionMessage(q, {
    id: Number(m.id),
    from: m.status,
    to: rule.to,
    actor: 'provider',
    surface: 'sms',
    set:
      rule.to === 'delivered'
        ? { delivered_at: now }
        : { error_code: errorCode ?? null, last_error: `the carrier reported ${status}${errorCode ? ` (error ${errorCode})` : ''}` },
  });
  if (!moved.ok) return null;
  const batchId = m.batch_id === null ? null : Number(m.batch_id);
  await enqueueCoalescedCards(q, [{ id: moved.row.id, batchId }], now);
  return Number(m.campaign_id);
}

/** Advisory-lock namespace of provider ids (the two-key form; see lockCampaignCaps for another). */
const PROVIDER_ID_LOCK = 0x534d54;

/**
 * Makes a callback and the record of its send take turns on the provider id, until the
 * transaction ends. Without it a callback could look for its message before the record
 * committed (not there yet: it only keeps the event) while the record had already read the
 * events (not there yet): applied by neither, the carrier's "failed" lost. In key order (no
 * deadlock between two records whose ids share a hash).
 */
export async function lockProviderIds(q: Queryable, providerIds: string[]): Promise<void> {
  await q.query(
    `SELECT pg_advisory_xact_lock(${PROVIDER_ID_LOCK}, k) FROM (SELECT DISTINCT hashtext(id) AS k FROM unnest($1::text[]) AS id) keys ORDER BY k`,
    [providerIds],
  );
}

/**
 * Applies final statuses that arrived before the message was marked sent (a fast carrier),
 * in the transaction that marks it sent. Returns the campaigns of messages it moved to
 * failed or undelivered: their error budget is checked, as for a callback that came later.
 */
export async function applyEarlyStatuses(q: Queryable, ctx: AppContext, providerIds: string[]): Promise<Set<number>> {
  const failedCampaigns = new Set<number>();
  if (providerIds.length === 0) return failedCampaigns;
  await lockProviderIds(q, providerIds);
  const { rows } = await q.query<{ provider_message_id: string; status: string; error_code: string | null }>(
    `SELECT provider_message_id, status, error_code FROM delivery_events
     WHERE provider_message_id = ANY($1::text[]) AND status IN ('delivered', 'undelivered', 'failed') ORDER BY received_at, id`,
    [providerIds],
  );
  for (const r of rows) {
    const campaignId = await applyDeliveryStatus(q, ctx, r.provider_message_id, r.status, r.error_code);
    if (campaignId !== null && r.status !== 'delivered') failedCampaigns.add(campaignId);
  }
  return failedCampaigns;
}
