/** Reads behind the approval cards, and the chat refs stored when a card or batch is posted. */
import type { LintFinding } from '../../domain/lintFinding.ts';
import type { MessageStatus } from '../../domain/messageStatus.ts';
import type { Queryable } from '../database.ts';

export interface CardRow {
  id: number;
  campaign_id: number;
  batch_id: number | null;
  campaign_name: string;
  campaign_status: string;
  campaign_settings: Record<string, unknown>;
  campaign_brief: Record<string, unknown>;
  chat_surface: string | null;
  customer_name: string | null;
  phone: string;
  body: string;
  status: MessageStatus;
  segments: number;
  encoding: 'GSM-7' | 'UCS-2';
  customer_context: unknown;
  rationale: string | null;
  lint: LintFinding[];
  approved_by: string | null;
  approved_at: Date | null;
  rejected_by: string | null;
  rejected_at: Date | null;
  edited_by: string | null;
  scheduled_send_time: Date | null;
  sent_at: Date | null;
  delivered_at: Date | null;
  cancelled_reason: string | null;
  last_error: string | null;
  /** Sends attempted: a message in review after one may have gone (see cards.ts). */
  attempts: number;
  card_refs: Record<string, unknown>;
  version: number;
}

const CARD_SELECT = `
  SELECT m.id, m.campaign_id, m.batch_id, c.name AS campaign_name, c.status AS campaign_status,
         c.settings AS campaign_settings, c.brief AS campaign_brief, c.chat_surface, cu.name AS customer_name,
         m.phone, m.body, m.status, m.segments, m.encoding, m.customer_context, m.rationale, m.lint,
         m.approved_by, m.approved_at, m.rejected_by, m.rejected_at, m.edited_by, m.scheduled_send_time,
         m.sent_at, m.delivered_at, m.cancelled_reason, m.last_error, m.attempts, m.card_refs, m.version
  FROM campaign_messages m
  JOIN campaigns c ON c.id = m.campaign_id
  LEFT JOIN customers cu ON cu.id = m.customer_id`;

export async function getCardRow(q: Queryable, messageId: number): Promise<CardRow | undefined> {
  const { rows } = await q.query<CardRow>(`${CARD_SELECT} WHERE m.id = $1`, [messageId]);
  return rows[0];
}

export async function getCardRows(q: Queryable, messageIds: number[]): Promise<CardRow[]> {
  const { rows } = await q.query<CardRow>(`${CARD_SELECT} WHERE m.id = ANY($1::bigint[]) ORDER BY m.id`, [messageIds]);
  return rows;
}

export async function getBatchCardRows(q: Queryable, batchId: number): Promise<CardRow[]> {
  const { rows } = await q.query<CardRow>(`${CARD_SELECT} WHERE m.batch_id = $1 ORDER BY m.id`, [batchId]);
  return rows;
}

/** The cards that share one chat message on `surface`, in their position order. */
export async function getCardRowsAtRef(q: Queryable, surface: string, channel: string, id: string): Promise<CardRow[]> {
  const { rows } = await q.query<CardRow>(
    `${CARD_SELECT}
     WHERE m.card_refs -> $1 ->> 'channel' = $2 AND m.card_refs -> $1 ->> 'id' = $3
     ORDER BY (m.card_refs -> $1 ->> 'position')::int NULLS LAST, m.id`,
    [surface, channel, id],
  );
  return rows;
}

export interface BatchRow {
  id: number;
  campaign_id: number;
  campaign_name: string;
  campaign_settings: Record<string, unknown>;
  chat_surface: string | null;
  chat_channel: string | null;
  segment_spec: string;
  generator: string;
  suggestion_count: number;
  lint_finding_count: number;
  estimated_cost_usd: number;
  post_state: string;
  chat_refs: Record<string, unknown>;
  progress_refs: Record<string, unknown>;
  counts: Record<string, number> | null;
  /** The latest edit of the batch's messages, in microseconds since 1970 as text ('0' when none): see EDIT_MARK. */
  edits_through: string;
}

/**
 * A message's edit time as the mark Approve all compares (microseconds since 1970): one
 * expression for both sides, so the header's mark and the messages compare exactly.
 */
const EDIT_MARK = `(extract(epoch FROM m.edited_at) * 1000000)::bigint`;

export async function getBatchRow(q: Queryable, batchId: number): Promise<BatchRow | undefined> {
  const { rows } = await q.query<BatchRow>(
    `SELECT b.id, b.campaign_id, c.name AS campaign_name, c.settings AS campaign_settings, c.chat_surface, c.chat_channel,
            b.segment_spec, b.generator, b.suggestion_count, b.lint_finding_count, b.estimated_cost_usd,
            b.post_state, b.chat_refs, b.progress_refs,
            agg.counts, agg.edits_through
     FROM batches b JOIN campaigns c ON c.id = b.campaign_id
     -- One pass over the batch's messages for both the counts and the edit mark.
     CROSS JOIN LATERAL (
       SELECT jsonb_object_agg(s.status, s.n) AS counts, COALESCE(max(s.mark), 0)::text AS edits_through
       FROM (SELECT m.status, count(*)::int AS n, max(${EDIT_MARK}) AS mark
             FROM campaign_messages m WHERE m.batch_id = b.id GROUP BY m.status) s
     ) agg
     WHERE b.id = $1`,
    [batchId],
  );
  return rows[0];
}

/** Stores where the given cards were posted on `surface` (side effect: card_refs update). */
export async function storeCardRefs(q: Queryable, surface: string, refs: Record<number, unknown>): Promise<void> {
  const ids = Object.keys(refs).map(Number);
  if (ids.length === 0) return;
  await q.query(
    `UPDATE campaign_messages m SET card_refs = m.card_refs || jsonb_build_object($1::text, r.ref)
     FROM unnest($2::bigint[], $3::jsonb[]) AS r(id, ref) WHERE m.id = r.id`,
    [surface, ids, ids.map((id) => JSON.stringify(refs[id]))],
  );
}

/** Stores where the batch's parent message lives on `surface` (side effect: chat_refs update). */
export async function storeBatchChatRef(q: Queryable, batchId: number, surface: string, ref: unknown): Promise<void> {
  await q.query(`UPDATE batches SET chat_refs = chat_refs || jsonb_build_object($2::text, $3::jsonb) WHERE id = $1`, [
    batchId,
    surface,
    JSON.stringify(ref),
  ]);
}

/** Stores the batch's progress message on `surface` (side effect: progress_refs update). */
export async function storeBatchProgressRef(q: Queryable, batchId: number, surface: string, ref: unknown): Promise<void> {
  await q.query(`UPDATE batches SET progress_refs = progress_refs || jsonb_build_object($2::text, $3::jsonb) WHERE id = $1`, [
    batchId,
    surface,
    JSON.stringify(ref),
  ]);
}

/** Marks the batch posted (side effect); the first surface to finish sets posted_at. */
export async function markBatchPosted(q: Queryable, batchId: number): Promise<void> {
  await q.query(`UPDATE batches SET post_state = 'posted', posted_at = COALESCE(posted_at, now()) WHERE id = $1`, [batchId]);
}

/** Ids of the batch's messages in one of `statuses`. */
export async function batchMessageIds(q: Queryable, batchId: number, statuses: readonly MessageStatus[]): Promise<number[]> {
  const { rows } = await q.query<{ id: number }>(
    'SELECT id FROM campaign_messages WHERE batch_id = $1 AND status = ANY($2::text[]) ORDER BY id',
    [batchId, statuses],
  );
  return rows.map((r) => Number(r.id));
}

/** Which of `ids` were edited after the mark `editsThrough` (an EDIT_MARK value, as text). */
export async function editedAfter(q: Queryable, ids: number[], editsThrough: string): Promise<number[]> {
  if (ids.length === 0) return [];
  const { rows } = await q.query<{ id: number }>(
    `SELECT m.id FROM campaign_messages m
     WHERE m.id = ANY($1::bigint[]) AND m.edited_at IS NOT NULL AND ${EDIT_MARK} > $2::bigint`,
    [ids, editsThrough],
  );
  return rows.map((r) => Number(r.id));
}
