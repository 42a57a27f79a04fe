/** The reads behind reports and charts. Reply statistics always go through the attribution rule. */
import type { Queryable } from '../db/database.ts';
import type { MessageStatus } from '../domain/messageStatus.ts';
import { ACCEPTED_SQL, attributedSendSql } from './attribution.ts';

/** What the report needs to know about one campaign message. */
export interface MessageFacts {
  id: number;
  batchId: number | null;
  variant: string | null;
  status: MessageStatus;
  suggestedAt: Date;
  approvedAt: Date | null;
  editedAt: Date | null;
  sentAt: Date | null;
  accepted: boolean;
  segments: number;
  /** Inbound replies (kind 'reply') attributed to this message, received up to `asOf`. */
  replies: number;
  /** Inbound STOP keywords attributed to this message, received up to `asOf`. */
  stops: number;
}

/** Every message of a campaign with its attributed replies and opt-outs. */
export async function campaignMessageFacts(
  q: Queryable,
  campaignId: number,
  opts: { windowDays: number; asOf: Date },
): Promise<MessageFacts[]> {
  const { rows } = await q.query<{
    id: number; batch_id: number | null; variant: string | null; status: MessageStatus; suggested_at: Date;
    approved_at: Date | null; edited_at: Date | null; sent_at: Date | null; accepted: boolean; segments: number;
    replies: number; stops: number;
  }>(
    `WITH attributed AS (
       SELECT i.kind, a.id AS message_id
       FROM inbound_messages i
       CROSS JOIN LATERAL (${attributedSendSql('i.from_phone', 'i.received_at', '$2')}) a
       WHERE i.from_phone IN (SELECT phone FROM campaign_messages WHERE campaign_id = $1)
         AND i.kind IN ('reply', 'stop') AND i.received_at <= $3 AND a.campaign_id = $1
     ), per_message AS (
       SELECT message_id, count(*) FILTER (WHERE kind = 'reply')::int AS replies,
              count(*) FILTER (WHERE kind = 'stop')::int AS stops
       FROM attributed GROUP BY message_id
     )
     SELECT m.id, m.batch_id, m.variant, m.status, m.suggested_at, m.approved_at, m.edited_at, m.sent_at,
            ${ACCEPTED_SQL} AS accepted, m.segments,
            coalesce(p.replies, 0) AS replies, coalesce(p.stops, 0) AS stops
     FROM campaign_messages m LEFT JOIN per_message p ON p.message_id = m.id
     WHERE m.campaign_id = $1
     ORDER BY m.id`,
    [campaignId, opts.windowDays, opts.asOf],
  );
  return rows.map((r) => ({
    id: r.id,
    batchId: r.batch_id,
    variant: r.variant,
    status: r.status,
    suggestedAt: r.suggested_at,
    approvedAt: r.approved_at,
    editedAt: r.edited_at,
    sentAt: r.sent_at,
    accepted: r.accepted,
    segments: r.segments,
    replies: r.replies,
    stops: r.stops,
  }));
}

export interface BatchInfo {
  id: number;
  segmentSpec: string;
  generator: string;
  createdAt: Date;
}

export async function campaignBatches(q: Queryable, campaignId: number): Promise<BatchInfo[]> {
  const { rows } = await q.query<{ id: number; segment_spec: string; generator: string; created_at: Date }>(
    'SELECT id, segment_spec, generator, created_at FROM batches WHERE campaign_id = $1 ORDER BY id',
    [campaignId],
  );
  return rows.map((r) => ({ id: r.id, segmentSpec: r.segment_spec, generator: r.generator, createdAt: r.created_at }));
}

export interface DailyActivityRow {
  day: string;
  sent: number;
  replies: number;
  optOuts: number;
}

/**
 * Sends, replies and STOPs per local day (in `timezone`) for days in [fromDay, toDay].
 * With a campaign: its accepted sends, and the replies and STOPs attributed to them.
 * Without: every accepted send, and every reply and STOP received.
 */
export async function dailyActivity(
  q: Queryable,
  opts: { fromDay: string; toDay: string; timezone: string; campaignId?: number; windowDays: number },
): Promise<DailyActivityRow[]> {
  const { rows } = await q.query<{ day: string; sent: number; replies: number; opt_outs: number }>(
    `WITH sends AS (
       SELECT to_char(m.sent_at AT TIME ZONE $3, 'YYYY-MM-DD') AS day
       FROM campaign_messages m
       WHERE ${ACCEPTED_SQL} AND m.sent_at IS NOT NULL
         AND ($4::bigint IS NULL OR m.campaign_id = $4)
         AND (m.sent_at AT TIME ZONE $3)::date BETWEEN $1::date AND $2::date
     ), inbound AS (
       SELECT to_char(i.received_at AT TIME ZONE $3, 'YYYY-MM-DD') AS day, i.kind
       FROM inbound_messages i
       WHERE i.kind IN ('reply', 'stop')
         AND (i.received_at AT TIME ZONE $3)::date BETWEEN $1::date AND $2::date
         AND ($4::bigint IS NULL OR
              (SELECT a.campaign_id FROM (${attributedSendSql('i.from_phone', 'i.received_at', '$5')}) a) = $4)
     )
     SELECT day, sum(sent)::int AS sent, sum(replies)::int AS replies, sum(opt_outs)::int AS opt_outs FROM (
       SELECT day, 1 AS sent, 0 AS replies, 0 AS opt_outs FROM sends
       UNION ALL
       SELECT day, 0, (kind = 'reply')::int, (kind = 'stop')::int FROM inbound
     ) t GROUP BY day ORDER BY day`,
    [opts.fromDay, opts.toDay, opts.timezone, opts.campaignId ?? null, opts.windowDays],
  );
  return rows.map((r) => ({ day: r.day, sent: r.sent, replies: r.replies, optOuts: r.opt_outs }));
}
