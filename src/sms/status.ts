/**
 * Delivery status callbacks: recorded once per (provider id, status), applied to the
 * message only when they move it forward along the state machine (a 'sent' arriving after
 * 'delivered' is recorded and changes nothing), then the card and progress re-render.
 * A callback can beat the record of its send (fast carriers answer within milliseconds):
 * it is kept, and the record applies it. The two take turns on the provider id, so one of
 * them always sees the other's work (see lockProviderIds in ./queries.ts).
 */
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/database.ts';
import { transitionMessage } from '../db/queries/transition.ts';
import type { MessageStatus } from '../domain/messageStatus.ts';
import { enforceErrorBudget } from '../scheduler/errorBudget.ts';
import { enqueueCoalescedCards } from '../scheduler/posts.ts';
import { campaignOfProviderId, finalDeliveryEvents, lockProviderIds, messageByProviderId, recordDeliveryEvent } from './queries.ts';

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
    const recorded = await recordDeliveryEvent(c, {
      providerMessageId: u.providerMessageId, status: u.status, errorCode: u.errorCode ?? null, payload: u.payload ?? {}, receivedAt: ctx.clock.now(),
    });
    const applied = recorded ? await applyDeliveryStatus(c, ctx, u.providerMessageId, u.status, u.errorCode) : null;
    // A failure is checked against the error budget even when this delivery is a duplicate:
    // the first one may have committed and lost its answer (then this is its rerun).
    const failedIn = FAILED.includes(u.status) ? (applied ?? (await campaignOfProviderId(c, u.providerMessageId, FAILED))) : null;
    return { duplicate: !recorded, changed: applied !== null, failedIn };
  }, { rerunnable: true }); // once per (provider id, status): a second run is a duplicate
  if (r.failedIn !== null) await ctx.db.tx((c) => enforceErrorBudget(c, ctx, r.failedIn!), { rerunnable: true });
  return { duplicate: r.duplicate, changed: r.changed };
}

const FAILED = ['failed', 'undelivered'];

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
  const m = await messageByProviderId(q, providerMessageId);
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

/**
 * Applies final statuses that arrived before the message was marked sent (a fast carrier),
 * in the transaction that marks it sent. Returns the campaigns of messages it moved to
 * failed or undelivered: their error budget is checked, as for a callback that came later.
 */
export async function applyEarlyStatuses(q: Queryable, ctx: AppContext, providerIds: string[]): Promise<Set<number>> {
  const failedCampaigns = new Set<number>();
  if (providerIds.length === 0) return failedCampaigns;
  await lockProviderIds(q, providerIds);
  for (const r of await finalDeliveryEvents(q, providerIds)) {
    const campaignId = await applyDeliveryStatus(q, ctx, r.provider_message_id, r.status, r.error_code);
    if (campaignId !== null && r.status !== 'delivered') failedCampaigns.add(campaignId);
  }
  return failedCampaigns;
}
