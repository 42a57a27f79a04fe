/**
 * The one guarded way to change a message's status:
 *   UPDATE ... WHERE id = ANY($ids) AND status = ANY($expected) [AND attempts = $fence]
 * with the audit row written by the same statement. A forbidden edge is refused before
 * SQL; a stale one (someone else moved first) changes nothing and says what it found.
 */
import { AppError } from '../../errors.ts';
import type { MessageStatus } from '../../domain/messageStatus.ts';
import { canTransition } from '../../domain/messageStatus.ts';
import type { Queryable } from '../database.ts';
import type { Surface } from './audit.ts';

/** Columns a transition may set alongside the status. */
const SETTABLE = [
  'body',
  'original_body',
  'scheduled_send_time',
  'approved_by',
  'approved_at',
  'rejected_by',
  'rejected_at',
  'edited_by',
  'edited_at',
  'cancelled_reason',
  'provider',
  'provider_message_id',
  'extra_provider_ids',
  'segments',
  'encoding',
  'lint',
  'last_attempt_at',
  'sent_at',
  'delivered_at',
  'last_error',
  'error_code',
] as const;
export type SettableColumn = (typeof SETTABLE)[number];

/** A special value: the database's `now()` (the statement's own clock). */
export const NOW = Symbol('now');

export interface TransitionRequest {
  ids: number[];
  from: MessageStatus | readonly MessageStatus[];
  to: MessageStatus;
  actor: string;
  surface: Surface;
  /** Audit action name; defaults to the target status (e.g. 'approved'). */
  action?: string;
  set?: Partial<Record<SettableColumn, unknown>>;
  /** Fence: only when `attempts` still equals this (the claim this sender holds). */
  attempts?: number;
  /** Optimistic concurrency: only when `version` still equals this (single id). */
  version?: number;
  /** Extra facts to keep in the audit row's `after`. */
  note?: Record<string, unknown>;
}

export interface TransitionedRow {
  id: number;
  from: MessageStatus;
  to: MessageStatus;
  version: number;
}

export interface TransitionResult {
  /** Rows that moved. */
  moved: TransitionedRow[];
  /** Ids that did not move, with the status they were found in (absent = no such id). */
  refused: { id: number; status: MessageStatus | null; by: string | null }[];
}

export class ForbiddenTransitionError extends AppError {
  constructor(from: string, to: MessageStatus) {
    super('forbidden_transition', `A message cannot go from ${from} to ${to}.`);
  }
}

export async function transitionMessages(q: Queryable, req: TransitionRequest): Promise<TransitionResult> {
  const from = (Array.isArray(req.from) ? req.from : [req.from]) as MessageStatus[];
  for (const f of from) if (!canTransition(f, req.to)) throw new ForbiddenTransitionError(f, req.to);
  if (req.ids.length === 0) return { moved: [], refused: [] };

  const params: unknown[] = [req.ids, from, req.to, req.actor, req.surface, req.action ?? req.to];
  const sets: string[] = ['status = $3', 'version = m.version + 1', 'updated_at = now()'];
  for (const [col, value] of Object.entries(req.set ?? {})) {
    if (!(SETTABLE as readonly string[]).includes(col)) throw new Error(`transition cannot set column ${col}`);
    if (value === NOW) {
      sets.push(`${col} = now()`);
    } else {
      params.push(col === 'lint' ? JSON.stringify(value) : value);
      sets.push(`${col} = $${params.length}`);
    }
  }
  let fence = '';
  if (req.attempts !== undefined) {
    params.push(req.attempts);
    fence += ` AND m.attempts = $${params.length}`;
  }
  if (req.version !== undefined) {
    params.push(req.version);
    fence += ` AND m.version = $${params.length}`;
  }
  params.push(JSON.stringify(req.note ?? {}));
  const noteParam = `$${params.length}`;

  // `old` locks the rows and remembers what they were, so the audit row has before/after.
  const { rows } = await q.query<{ id: number; old_status: MessageStatus; old_body: string; body: string; version: number }>(
    `WITH old AS (
       SELECT id, status, body FROM campaign_messages
       WHERE id = ANY($1::bigint[]) AND status = ANY($2::text[]) FOR UPDATE
     ), moved AS (
       UPDATE campaign_messages m SET ${sets.join(', ')}
       FROM old WHERE m.id = old.id AND m.status = old.status${fence}
       RETURNING m.id, old.status AS old_status, old.body AS old_body, m.body, m.status, m.version
     ), audited AS (
       INSERT INTO audit_log (actor, surface, action, entity_type, entity_id, before, after)
       SELECT $4, $5, $6, 'message', moved.id::text,
              jsonb_build_object('status', moved.old_status)
                || CASE WHEN moved.old_body IS DISTINCT FROM moved.body THEN jsonb_build_object('body', moved.old_body) ELSE '{}'::jsonb END,
              jsonb_build_object('status', moved.status)
                || CASE WHEN moved.old_body IS DISTINCT FROM moved.body THEN jsonb_build_object('body', moved.body) ELSE '{}'::jsonb END
                || ${noteParam}::jsonb
       FROM moved
     )
     SELECT id, old_status, version FROM moved`,
    params,
  );
  const moved = rows.map((r) => ({ id: Number(r.id), from: r.old_status, to: req.to, version: r.version }));
  const movedIds = new Set(moved.map((m) => m.id));
  const missing = req.ids.filter((id) => !movedIds.has(id));
  let refused: TransitionResult['refused'] = [];
  if (missing.length) {
    const found = await q.query<{ id: number; status: MessageStatus; approved_by: string | null; rejected_by: string | null }>(
      'SELECT id, status, approved_by, rejected_by FROM campaign_messages WHERE id = ANY($1::bigint[])',
      [missing],
    );
    const byId = new Map(found.rows.map((r) => [Number(r.id), r]));
    refused = missing.map((id) => {
      const r = byId.get(id);
      return { id, status: r?.status ?? null, by: r ? (r.status === 'rejected' ? r.rejected_by : r.approved_by) : null };
    });
  }
  return { moved, refused };
}

/** Single-message convenience: returns the moved row, or why it did not move. */
export async function transitionMessage(
  q: Queryable,
  req: Omit<TransitionRequest, 'ids'> & { id: number },
): Promise<{ ok: true; row: TransitionedRow } | { ok: false; status: MessageStatus | null; by: string | null }> {
  const { id, ...rest } = req;
  const r = await transitionMessages(q, { ...rest, ids: [id] });
  if (r.moved[0]) return { ok: true, row: r.moved[0] };
  const f = r.refused[0]!;
  return { ok: false, status: f.status, by: f.by };
}
