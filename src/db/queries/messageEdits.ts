/**
 * A manager's edit of a message text: one guarded UPDATE fenced by status and version
 * (a concurrent edit, approval or send makes it change nothing), with its audit row
 * (before/after body) written in the same transaction. The status itself never changes
 * here: that stays the job of transition.ts. An approved message's new text goes out as
 * edited, so the editor (an approver) becomes its approver: approved_by names who approved
 * the text that is sent.
 */
import type { LintFinding } from '../../domain/lintFinding.ts';
import type { MessageStatus } from '../../domain/messageStatus.ts';
import type { Queryable } from '../database.ts';
import { writeAudit, type Surface } from './audit.ts';

export interface EditRequest {
  id: number;
  /** Only when the message is still in one of these statuses. */
  statuses: readonly MessageStatus[];
  /** Only when nobody changed the message since it was read. */
  version: number;
  body: string;
  segments: number;
  encoding: 'GSM-7' | 'UCS-2';
  lint: LintFinding[];
  actor: string;
  actorId: string;
  surface: Surface;
}

export type EditResult =
  | { ok: true; version: number; before: string }
  | { ok: false; status: MessageStatus | null; version: number | null };

/**
 * Side effect: updates body/original_body/segments/encoding/lint/edited_by/at (and approved_by/at of an approved message), version+1, and audits.
 * `edited_at` is the time of this statement, not of the transaction's start: edits of a
 * campaign take turns on its lock, so each one's edited_at is later than any edit committed
 * before it, which is what Approve all's mark of the edits a header has seen relies on.
 */
export async function editMessageBody(q: Queryable, e: EditRequest): Promise<EditResult> {
  const { rows } = await q.query<{ version: number; before: string; status: MessageStatus }>(
    `WITH old AS (
       SELECT id, body FROM campaign_messages
       WHERE id = $1 AND status = ANY($2::text[]) AND version = $3 FOR UPDATE
     )
     UPDATE campaign_messages m
        SET body = $4, original_body = COALESCE(m.original_body, old.body), segments = $5, encoding = $6,
            lint = $7::jsonb, edited_by = $8, edited_at = clock_timestamp(), version = m.version + 1, updated_at = now(),
            approved_by = CASE WHEN m.status = 'approved' THEN $8 ELSE m.approved_by END,
            approved_at = CASE WHEN m.status = 'approved' THEN now() ELSE m.approved_at END
       FROM old WHERE m.id = old.id
     RETURNING m.version, old.body AS before, m.status`,
    [e.id, e.statuses, e.version, e.body, e.segments, e.encoding, JSON.stringify(e.lint), e.actor],
  );
  const row = rows[0];
  if (!row) {
    const found = await q.query<{ status: MessageStatus; version: number }>(
      'SELECT status, version FROM campaign_messages WHERE id = $1',
      [e.id],
    );
    return { ok: false, status: found.rows[0]?.status ?? null, version: found.rows[0]?.version ?? null };
  }
  await writeAudit(q, {
    actor: e.actor,
    surface: e.surface,
    action: 'edited',
    entityType: 'message',
    entityId: e.id,
    before: { body: row.before, version: e.version, status: row.status },
    after: { body: e.body, version: row.version, status: row.status, segments: e.segments, encoding: e.encoding, actorId: e.actorId },
  });
  return { ok: true, version: row.version, before: row.before };
}

/** Whether the text was edited at or after `version` (the audit keeps the version each edit started from). */
export async function editedSince(q: Queryable, messageId: number, version: number): Promise<boolean> {
  const { rows } = await q.query<{ edited: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM audit_log
       WHERE entity_type = 'message' AND entity_id = $1 AND action = 'edited' AND (before ->> 'version')::int >= $2
     ) AS edited`,
    [String(messageId), version],
  );
  return rows[0]!.edited;
}
