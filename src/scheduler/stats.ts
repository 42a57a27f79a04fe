/** Counts behind the progress message and the daily summary. */
import type { Queryable } from '../db/database.ts';

export interface SendCounts {
  total: number;
  sent: number;
  delivered: number;
  failed: number;
  pending: number;
  /** Waiting for a person: suggestions not approved yet, and messages back in review. */
  toApprove: number;
  inReview: number;
  cancelled: number;
  rejected: number;
  replies: number;
  optOuts: number;
  nextSendAt: Date | null;
  lastSlotAt: Date | null;
}

/** Counts for one batch or one campaign; `since`/`until` restrict sends, replies and opt-outs to that span. */
export async function sendCounts(
  q: Queryable,
  scope: { batchId: number } | { campaignId: number },
  span?: { since: Date; until: Date },
): Promise<SendCounts> {
  const col = 'batchId' in scope ? 'batch_id' : 'campaign_id';
  const id = 'batchId' in scope ? scope.batchId : scope.campaignId;
  const { rows } = await q.query<SendCounts & { next: Date | null; last: Date | null }>(
    `WITH m AS (SELECT * FROM campaign_messages WHERE ${col} = $1),
     inb AS (SELECT i.* FROM inbound_messages i JOIN m ON m.id = i.message_id
             WHERE $2::timestamptz IS NULL OR (i.received_at >= $2 AND i.received_at < $3))
     SELECT count(*)::int AS total,
       count(*) FILTER (WHERE status IN ('sent', 'delivered', 'undelivered')
                          AND ($2::timestamptz IS NULL OR (sent_at >= $2 AND sent_at < $3)))::int AS sent,
       count(*) FILTER (WHERE status = 'delivered' AND ($2::timestamptz IS NULL OR (delivered_at >= $2 AND delivered_at < $3)))::int AS delivered,
       -- By the attempt, stamped on the app's clock (updated_at is the database's, which a demo's fast clock leaves behind).
       count(*) FILTER (WHERE status IN ('failed', 'undelivered')
                          AND ($2::timestamptz IS NULL OR (coalesce(last_attempt_at, sent_at) >= $2 AND coalesce(last_attempt_at, sent_at) < $3)))::int AS failed,
       count(*) FILTER (WHERE status IN ('approved', 'sending', 'unknown'))::int AS pending,
       count(*) FILTER (WHERE status = 'suggested')::int AS "toApprove",
       count(*) FILTER (WHERE status = 'needs_review')::int AS "inReview",
       count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
       count(*) FILTER (WHERE status = 'rejected')::int AS rejected,
       (SELECT count(*)::int FROM inb WHERE kind = 'reply') AS replies,
       (SELECT count(*)::int FROM inb WHERE kind = 'stop') AS "optOuts",
       min(scheduled_send_time) FILTER (WHERE status = 'approved') AS next,
       max(scheduled_send_time) FILTER (WHERE status = 'approved') AS last
     FROM m`,
    [id, span?.since ?? null, span?.until ?? null],
  );
  const r = rows[0]!;
  return {
    total: r.total, sent: r.sent, delivered: r.delivered, failed: r.failed, pending: r.pending, toApprove: r.toApprove, inReview: r.inReview,
    cancelled: r.cancelled, rejected: r.rejected,
    replies: r.replies, optOuts: r.optOuts, nextSendAt: r.next, lastSlotAt: r.last,
  };
}
