/**
 * The one guarded way to change a message's status:
 *   UPDATE ... WHERE id = ANY($ids) AND status = ANY($expected) [AND attempts = $fence]
 * with the audit row written by the same statement. A forbidden edge is refused before
 * SQL; a stale one (someone else moved first) changes nothing and says what it found.
 * Set-based on purpose: a claim (attempts + 1) or the record of N sends, each with its own
 * provider ids and its own attempts fence, is one statement.
 */
import { AppError } from '../../errors.ts';
import type { MessageStatus } from '../../domain/messageStatus.ts';
import { canTransition } from '../../domain/messageStatus.ts';
import type { Queryable } from '../database.ts';
import type { Surface } from './audit.ts';

/** Columns a transition may set alongside the status, with their SQL types (for per-row values). */
const SETTABLE = {
  body: 'text',
  original_body: 'text',
  scheduled_send_time: 'timestamptz',
  approved_by: 'text',
  approved_at: 'timestamptz',
  rejected_by: 'text',
  rejected_at: 'timestamptz',
  edited_by: 'text',
  edited_at: 'timestamptz',
  cancelled_reason: 'text',
  provider: 'text',
  provider_message_id: 'text',
  extra_provider_ids: 'text[]',
  segments: 'integer',
  encoding: 'text',
  lint: 'jsonb',
  last_attempt_at: 'timestamptz',
  sent_at: 'timestamptz',
  delivered_at: 'timestamptz',
  last_error: 'text',
  error_code: 'text',
} as const;
export type SettableColumn = keyof typeof SETTABLE;

/** A special value: the database's `now()` (the statement's own clock). */
export const NOW = Symbol('now');

/** One row of a per-row transition: its own fence and its own column values. */
export interface TransitionRow {
  id: number;
  /** Fence for this row only: it moves only when `attempts` still equals this. */
  attempts?: number;
  /** Values for this row only (not NOW); every row of a request sets the same columns. */
  set?: Partial<Record<SettableColumn, unknown>>;
}

export interface TransitionOptions {
  from: MessageStatus | readonly MessageStatus[];
  to: MessageStatus;
  actor: string;
  surface: Surface;
  /** Audit action name; defaults to the target status (e.g. 'approved'). */
  action?: string;
  /** Values set on every row. */
  set?: Partial<Record<SettableColumn, unknown>>;
  /** Fence: only when `attempts` still equals this (the claim this sender holds). */
  attempts?: number;
  /** A claim: `attempts = attempts + 1` in the same statement; `moved` carries the new value (the sender's fence). */
  bumpAttempts?: boolean;
  /** Optimistic concurrency: only when `version` still equals this (single id). */
  version?: number;
  /** Extra facts to keep in the audit row's `after`. */
  note?: Record<string, unknown>;
  /**
   * Write the audit row (default true). Only the dispatcher's claim (approved -> sending)
   * turns it off: a machine step whose facts the row itself keeps (attempts, last_attempt_at)
   * and whose outcome (sent, failed, unknown, cancelled) is audited with the attempt number
   * a moment later. Human actions and every other change keep their audit row.
   */
  audit?: boolean;
}

/** Which messages move: by id (same values for all), or per row (own values and fences). */
export type TransitionRequest = TransitionOptions & ({ ids: number[]; rows?: never } | { rows: TransitionRow[]; ids?: never });

export interface TransitionedRow {
  id: number;
  from: MessageStatus;
  to: MessageStatus;
  version: number;
  /** The row's attempts after the move (after the bump, for a claim). */
  attempts: number;
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
  if (req.audit === false && !(req.to === 'sending' && req.bumpAttempts)) {
    throw new Error(`only a claim (to sending, bumpAttempts) may skip its audit row; this moves to ${req.to}`);
  }
  const ids = req.rows ? req.rows.map((r) => r.id) : req.ids;
  if (ids.length === 0) return { moved: [], refused: [] };
  // From one status, with the body left alone, the audit's "before" is known without reading
  // the rows first: the UPDATE alone locks, re-checks and moves them (the common, hot case).
  const knownBefore = from.length === 1 && !setsBody(req);

  const params: unknown[] = [ids, from, req.to];
  const sets: string[] = ['status = $3', 'version = m.version + 1', 'updated_at = now()'];
  if (req.bumpAttempts) sets.push('attempts = m.attempts + 1');
  for (const [col, value] of Object.entries(req.set ?? {})) {
    settable(col);
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
  // Per-row values arrive as one jsonb array, typed by jsonb_to_recordset (arrays, jsonb and timestamps included).
  let perRow = '';
  let joinPerRow = '';
  if (req.rows) {
    const cols = perRowColumns(req.rows);
    params.push(JSON.stringify(req.rows.map((r) => ({ id: r.id, fence: r.attempts ?? null, ...r.set }))));
    perRow = `v AS (
       SELECT * FROM jsonb_to_recordset($${params.length}::jsonb)
         AS v(id bigint, fence integer${cols.map((c) => `, ${c} ${SETTABLE[c]}`).join('')})
     ), `;
    joinPerRow = knownBefore ? ', v' : ' JOIN v ON v.id = old.id';
    fence += `${knownBefore ? ' AND v.id = m.id' : ''} AND (v.fence IS NULL OR m.attempts = v.fence)`;
    for (const c of cols) sets.push(`${c} = v.${c}`);
  }
  const attemptsInAudit = req.bumpAttempts ? "|| jsonb_build_object('attempts', moved.attempts)" : '';
  const a = params.length;
  if (req.audit !== false) params.push(req.actor, req.surface, req.action ?? req.to, JSON.stringify(req.note ?? {}));
  const audited = req.audit === false ? '' : `, audited AS (
       INSERT INTO audit_log (actor, surface, action, entity_type, entity_id, before, after)
       SELECT $${a + 1}, $${a + 2}, $${a + 3}, 'message', moved.id::text,
              jsonb_build_object('status', moved.old_status)
                || CASE WHEN moved.old_body IS DISTINCT FROM moved.body THEN jsonb_build_object('body', moved.old_body) ELSE '{}'::jsonb END,
              jsonb_build_object('status', moved.status)
                || CASE WHEN moved.old_body IS DISTINCT FROM moved.body THEN jsonb_build_object('body', moved.body) ELSE '{}'::jsonb END
                ${attemptsInAudit}
                || $${a + 4}::jsonb
       FROM moved
     )`;

  // Otherwise `old` locks the rows and remembers what they were, so the audit row has before/after.
  const update = knownBefore
    ? `moved AS (
       UPDATE campaign_messages m SET ${sets.join(', ')}
       ${joinPerRow ? 'FROM v ' : ''}WHERE m.id = ANY($1::bigint[]) AND m.status = ANY($2::text[])${fence}
       RETURNING m.id, ($2::text[])[1] AS old_status, m.body AS old_body, m.body, m.status, m.version, m.attempts
     )`
    : `old AS (
       SELECT id, status, body FROM campaign_messages
       WHERE id = ANY($1::bigint[]) AND status = ANY($2::text[]) FOR UPDATE
     ), moved AS (
       UPDATE campaign_messages m SET ${sets.join(', ')}
       FROM old${joinPerRow} WHERE m.id = old.id AND m.status = old.status${fence}
       RETURNING m.id, old.status AS old_status, old.body AS old_body, m.body, m.status, m.version, m.attempts
     )`;
  const { rows } = await q.query<{ id: number; old_status: MessageStatus; version: number; attempts: number }>(
    `WITH ${perRow}${update}${audited}
     SELECT id, old_status, version, attempts FROM moved`,
    params,
  );
  const moved = rows.map((r) => ({ id: Number(r.id), from: r.old_status, to: req.to, version: r.version, attempts: r.attempts }));
  const movedIds = new Set(moved.map((m) => m.id));
  const missing = ids.filter((id) => !movedIds.has(id));
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
  req: TransitionOptions & { id: number },
): Promise<{ ok: true; row: TransitionedRow } | { ok: false; status: MessageStatus | null; by: string | null }> {
  const { id, ...rest } = req;
  const r = await transitionMessages(q, { ...rest, ids: [id] });
  if (r.moved[0]) return { ok: true, row: r.moved[0] };
  const f = r.refused[0]!;
  return { ok: false, status: f.status, by: f.by };
}

function setsBody(req: TransitionRequest): boolean {
  return req.set?.body !== undefined || (req.rows?.some((r) => r.set?.body !== undefined) ?? false);
}

function settable(col: string): asserts col is SettableColumn {
  if (!Object.hasOwn(SETTABLE, col)) throw new Error(`transition cannot set column ${col}`);
}

/** The columns the rows set: the same for every row (a missing one would silently become NULL). */
function perRowColumns(rows: TransitionRow[]): SettableColumn[] {
  const cols: SettableColumn[] = [];
  for (const c of Object.keys(rows[0]?.set ?? {}).sort()) {
    settable(c);
    cols.push(c);
  }
  const seen = new Set<number>();
  for (const r of rows) {
    if (seen.has(r.id)) throw new Error(`transition rows name message ${r.id} twice`);
    seen.add(r.id);
    const own = Object.keys(r.set ?? {}).sort();
    if (own.join() !== cols.join()) throw new Error(`transition rows must set the same columns (${cols.join(', ') || 'none'}); message ${r.id} sets ${own.join(', ') || 'none'}`);
    if (Object.values(r.set ?? {}).includes(NOW)) throw new Error('NOW is for values shared by every row (set), not per-row values');
  }
  return cols;
}
