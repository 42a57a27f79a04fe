/**
 * Reply attribution, the one rule every reply statistic uses: an inbound SMS belongs to
 * the latest campaign message sent to that number at or before it arrived, provided that
 * send is at most `windowDays` old (inclusive). Later sends win over earlier ones, whatever
 * the campaign; a reply before any send, or after the window closed, belongs to nothing.
 */
import type { Queryable } from '../db/database.ts';

export const DEFAULT_ATTRIBUTION_WINDOW_DAYS = 7;

/**
 * SQL predicate (alias `m`) for "the provider accepted this message": the sent, delivered
 * and undelivered statuses, and carrier failures that had been accepted first.
 */
export const ACCEPTED_SQL = `(m.status IN ('sent', 'delivered', 'undelivered') OR (m.status = 'failed' AND m.provider_message_id IS NOT NULL))`;

/**
 * SQL for the message an inbound text from phone `$phone` received at `$at` belongs to,
 * with the window in days as `$days`: written once, used by attributeReply and the reports.
 */
export function attributedSendSql(phone: string, at: string, days: string): string {
  return `SELECT m.id, m.campaign_id, m.batch_id FROM campaign_messages m
          WHERE m.phone = ${phone} AND ${ACCEPTED_SQL} AND m.sent_at IS NOT NULL
            AND m.sent_at <= ${at} AND m.sent_at >= ${at} - (${days}::float8 * interval '1 day')
          ORDER BY m.sent_at DESC, m.id DESC LIMIT 1`;
}

export interface Attribution {
  messageId: number;
  campaignId: number;
  batchId: number | null;
}

/**
 * The campaign message a reply from `phone` at `receivedAt` belongs to, or null.
 * Read-only; call it inside the inbound handler's transaction with its client.
 */
export async function attributeReply(
  q: Queryable,
  phone: string,
  receivedAt: Date,
  windowDays = DEFAULT_ATTRIBUTION_WINDOW_DAYS,
): Promise<Attribution | null> {
  const { rows } = await q.query<{ id: number; campaign_id: number; batch_id: number | null }>(
    attributedSendSql('$1', '$2::timestamptz', '$3'),
    [phone, receivedAt, windowDays],
  );
  const r = rows[0];
  return r ? { messageId: r.id, campaignId: r.campaign_id, batchId: r.batch_id } : null;
}
