/**
 * The batch's progress message, edited in place: the chat outbox renders it at delivery
 * time from current state, so a coalesced update always shows the latest numbers.
 */
import { DateTime } from 'luxon';
import type { ChatMessage } from '../bot/chatSurface.ts';
import { effectiveSettings } from '../campaigns/settings.ts';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/database.ts';
import { campaignOfBatch } from './queries.ts';
import { sendCounts } from './stats.ts';

export function formatWhen(d: Date, zone: string): string {
  return DateTime.fromJSDate(d, { zone }).toFormat('ccc MM/dd h:mm a');
}

/** Renders the progress message of a batch (contract: called by the chat outbox). */
export async function renderProgress(q: Queryable, ctx: AppContext, batchId: number): Promise<ChatMessage> {
  const campaign = await campaignOfBatch(q, batchId);
  if (!campaign) return { text: `Batch ${batchId} no longer exists.`, tone: 'warning' };
  const zone = effectiveSettings(ctx.config, campaign.settings).timezone;
  const n = await sendCounts(q, { batchId });
  const live = n.total - n.cancelled - n.rejected;
  const state =
    campaign.status === 'paused'
      ? `Paused${campaign.paused_reason ? `: ${campaign.paused_reason}` : ''}`
      : campaign.status === 'cancelled'
        ? 'Cancelled'
        : n.pending > 0
          ? 'Sending'
          : n.inReview > 0
            ? 'Waiting for review'
            : n.toApprove > 0
              ? 'Waiting for approval'
              : live === 0
                ? 'Nothing to send'
                : 'Done';
  // Messages waiting for a person go nowhere until someone decides: "Done" would hide them.
  const waiting =
    (n.toApprove ? `, ${n.toApprove} to approve` : '') +
    (n.inReview ? `, ${n.inReview} in review (see ${n.inReview === 1 ? 'its card' : 'their cards'})` : '');
  return {
    title: `Progress: ${campaign.name}`,
    text:
      live === 0 && campaign.status !== 'cancelled'
        ? `${state}: every message of this batch was rejected or cancelled.`
        : `${state}. ${n.sent} of ${live} sent${n.pending ? `, ${n.pending} to go` : ''}${waiting}.`,
    fields: [
      { label: 'Sent', value: String(n.sent) },
      { label: 'Delivered', value: String(n.delivered) },
      { label: 'Failed', value: String(n.failed) },
      { label: 'Replies', value: String(n.replies) },
      { label: 'Opt-outs', value: String(n.optOuts) },
      { label: 'Next send', value: n.nextSendAt && campaign.status === 'active' ? formatWhen(n.nextSendAt, zone) : '—' },
      { label: 'ETA', value: n.lastSlotAt && campaign.status === 'active' ? formatWhen(n.lastSlotAt, zone) : '—' },
    ],
    tone: campaign.status === 'paused' || (n.pending === 0 && n.inReview > 0) ? 'warning' : n.pending === 0 && n.toApprove === 0 && live > 0 ? 'success' : 'info',
  };
}
