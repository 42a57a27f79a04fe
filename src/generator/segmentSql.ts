/**
 * Compiles segment criteria into a parameterised SQL condition over `customers c`.
 * Field names map to fixed SQL expressions from a closed table; every value (and every
 * attribute key) travels as a bind parameter, never inside the SQL text.
 */
import { AppError } from '../errors.ts';
import type { Condition, Criteria, CriteriaNode } from './segments.ts';

type Kind = 'text' | 'number' | 'date';

/** Collects bind parameters; `add` returns the placeholder ($1, $2 ...). */
export class SqlParams {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** Customer fields a segment may use. `today` is the placeholder of the reference date. */
function fieldTable(today: string): Record<string, { sql: string; kind: Kind }> {
  return {
    name: { sql: 'c.name', kind: 'text' },
    phone: { sql: 'c.phone', kind: 'text' },
    email: { sql: 'c.email', kind: 'text' },
    external_id: { sql: 'c.external_id', kind: 'text' },
    timezone: { sql: 'c.timezone', kind: 'text' },
    state: { sql: 'c.state', kind: 'text' },
    favorite_category: { sql: 'c.favorite_category', kind: 'text' },
    consent_source: { sql: 'c.consent_source', kind: 'text' },
    visits: { sql: 'c.visits', kind: 'number' },
    total_spend: { sql: 'c.total_spend', kind: 'number' },
    average_spend: { sql: '(c.total_spend / NULLIF(c.visits, 0))', kind: 'number' },
    last_visit_at: { sql: 'c.last_visit_at', kind: 'date' },
    first_seen_at: { sql: 'c.first_seen_at', kind: 'date' },
    days_since_last_visit: { sql: `(${today}::date - c.last_visit_at)`, kind: 'number' },
    days_since_first_seen: { sql: `(${today}::date - c.first_seen_at)`, kind: 'number' },
  };
}

export const SEGMENT_FIELDS = Object.keys(fieldTable('$0'));
const ATTRIBUTE_PREFIX = /^(?:attributes|attr)\.(.+)$/;
const ATTRIBUTE_KEY = /^[\w -]{1,64}$/;

/**
 * Returns the SQL condition for `criteria`, adding values to `params`.
 * `today` is the placeholder holding the reference date ('YYYY-MM-DD') for day counts.
 */
export function compileCriteria(criteria: Criteria, params: SqlParams, today: string): string {
  return compileNode(criteria, params, fieldTable(today));
}

function compileNode(node: CriteriaNode, params: SqlParams, fields: ReturnType<typeof fieldTable>): string {
  if ('all' in node) return group(node.all, ' AND ', 'TRUE', params, fields);
  if ('any' in node) return group(node.any, ' OR ', 'FALSE', params, fields);
  return compileCondition(node, params, fields);
}

function group(nodes: CriteriaNode[], joiner: string, empty: string, params: SqlParams, fields: ReturnType<typeof fieldTable>): string {
  if (nodes.length === 0) return empty;
  return `(${nodes.map((n) => compileNode(n, params, fields)).join(joiner)})`;
}

function compileCondition(c: Condition, params: SqlParams, fields: ReturnType<typeof fieldTable>): string {
  const { sql, kind } = resolveField(c, params, fields);
  const { op, value } = c;

  if (value === null) {
    if (op === '=') return `${sql} IS NULL`;
    if (op === '!=') return `${sql} IS NOT NULL`;
    throw bad(c, 'null only works with = and !=');
  }
  if (op === 'in') {
    if (!Array.isArray(value) || value.length === 0) throw bad(c, '"in" needs a non-empty list, e.g. ["CA", "OR"]');
    const items = value.map((v) => coerce(c, kind, v));
    if (kind === 'text') return `lower(${sql}) = ANY(${params.add(items.map((v) => String(v).toLowerCase()))}::text[])`;
    return `${sql} = ANY(${params.add(items)}::${kind === 'number' ? 'numeric' : 'date'}[])`;
  }
  if (Array.isArray(value)) throw bad(c, `a list only works with "in"`);
  const v = coerce(c, kind, value);
  if (op === 'contains') {
    if (kind !== 'text') throw bad(c, '"contains" only works on text fields');
    return `strpos(lower(${sql}), lower(${params.add(v)})) > 0`;
  }
  if (kind === 'text') {
    if (op === '=') return `lower(${sql}) = lower(${params.add(v)})`;
    if (op === '!=') return `lower(${sql}) IS DISTINCT FROM lower(${params.add(v)})`;
    throw bad(c, `"${op}" needs a number or date field; text fields take = != in contains`);
  }
  const cast = kind === 'number' ? 'numeric' : 'date';
  const p = `${params.add(v)}::${cast}`;
  if (op === '!=') return `${sql} IS DISTINCT FROM ${p}`;
  return `${sql} ${op} ${p}`;
}

function resolveField(c: Condition, params: SqlParams, fields: ReturnType<typeof fieldTable>): { sql: string; kind: Kind } {
  const known = fields[c.field];
  if (known) return known;
  const attr = ATTRIBUTE_PREFIX.exec(c.field);
  if (!attr) {
    throw new AppError(
      'bad_segment',
      `Unknown segment field "${c.field.slice(0, 60)}". Fields: ${SEGMENT_FIELDS.join(', ')}, or attributes.<name> for imported columns.`,
    );
  }
  const key = attr[1]!;
  if (!ATTRIBUTE_KEY.test(key)) throw bad(c, 'attribute names are letters, digits, _, - and spaces (at most 64)');
  const k = params.add(key);
  const sample = Array.isArray(c.value) ? c.value[0] : c.value;
  if (typeof sample === 'number') {
    // A numeric comparison on free-form data: non-numeric values simply do not match.
    return {
      sql: `(CASE WHEN jsonb_typeof(c.attributes -> ${k}) = 'number' THEN (c.attributes ->> ${k})::numeric
                  WHEN (c.attributes ->> ${k}) ~ '^\\s*-?[0-9]+(\\.[0-9]+)?\\s*$' THEN trim(c.attributes ->> ${k})::numeric END)`,
      kind: 'number',
    };
  }
  return { sql: `(c.attributes ->> ${k})`, kind: 'text' };
}

function coerce(c: Condition, kind: Kind, v: string | number | boolean): string | number {
  if (kind === 'text') return String(v);
  if (kind === 'number') {
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isFinite(n)) throw bad(c, `needs a number, got ${JSON.stringify(v).slice(0, 40)}`);
    return n;
  }
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(v))) {
    throw bad(c, `needs a date YYYY-MM-DD, got ${JSON.stringify(v).slice(0, 40)}`);
  }
  return v;
}

function bad(c: Condition, why: string): AppError {
  return new AppError('bad_segment', `Segment condition on "${c.field.slice(0, 60)}" ${c.op}: ${why}.`);
}
