/**
 * Segment specs: the presets `all`, `lapsed:DAYS`, `new:DAYS`, `vip:MIN_SPEND`, or a JSON
 * criteria tree `{"all"|"any": [{ "field", "op", "value" } | nested group, ...]}`.
 * Presets are criteria too (over derived fields), so there is one compiler (segmentSql.ts).
 */
import { z } from 'zod';
import { AppError } from '../errors.ts';

export const CRITERIA_OPS = ['=', '!=', '>', '>=', '<', '<=', 'in', 'contains'] as const;
export type CriteriaOp = (typeof CRITERIA_OPS)[number];

export type CriteriaValue = string | number | boolean | null | (string | number)[];
export interface Condition {
  field: string;
  op: CriteriaOp;
  value: CriteriaValue;
}
export type Criteria = { all: CriteriaNode[] } | { any: CriteriaNode[] };
export type CriteriaNode = Criteria | Condition;

export const CAMPAIGN_TYPES = ['retention', 'welcome', 'vip', 'reminder', 'feedback'] as const;
export type CampaignType = (typeof CAMPAIGN_TYPES)[number];

export interface Segment {
  spec: string;
  criteria: Criteria;
  /** The campaign type this segment suggests when none is given. */
  suggestedType: CampaignType;
}

const MAX_DEPTH = 8;
const MAX_CONDITIONS = 100;

const scalar = z.union([z.string().max(500), z.number().finite(), z.boolean(), z.null()]);
const conditionSchema = z
  .object({
    field: z.string().min(1).max(100),
    op: z.string(),
    value: z.union([scalar, z.array(z.union([z.string().max(500), z.number().finite()])).max(1000)]),
  })
  .strict();

function usage(): string {
  return 'Segment examples: all, lapsed:60, new:30, vip:500, or {"all":[{"field":"visits","op":">=","value":5}]}';
}

/** Parses a SPEC; throws AppError('bad_segment') that says what is wrong and shows examples. */
export function parseSegment(spec: string): Segment {
  const text = spec.trim();
  if (text.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new AppError('bad_segment', `Segment criteria are not valid JSON (${(e as Error).message}). ${usage()}`);
    }
    return { spec: text, criteria: parseCriteria(json), suggestedType: 'retention' };
  }
  const m = /^(all|lapsed|new|vip)(?::\s*(\d+(?:\.\d+)?))?$/i.exec(text);
  if (!m) throw new AppError('bad_segment', `Unknown segment "${truncate(text)}". ${usage()}`);
  const kind = m[1]!.toLowerCase();
  const n = m[2] === undefined ? undefined : Number(m[2]);
  if (kind === 'all') {
    if (n !== undefined) throw new AppError('bad_segment', `Segment "all" takes no number. ${usage()}`);
    return { spec: 'all', criteria: { all: [] }, suggestedType: 'retention' };
  }
  if (n === undefined) throw new AppError('bad_segment', `Segment "${kind}" needs a number, e.g. ${kind}:${kind === 'vip' ? 500 : 60}.`);
  if (kind !== 'vip' && !Number.isInteger(n)) throw new AppError('bad_segment', `${kind}:DAYS needs a whole number of days, got ${n}.`);
  switch (kind) {
    case 'lapsed':
      return { spec: `lapsed:${n}`, criteria: { all: [{ field: 'days_since_last_visit', op: '>=', value: n }] }, suggestedType: 'retention' };
    case 'new':
      return { spec: `new:${n}`, criteria: { all: [{ field: 'days_since_first_seen', op: '<=', value: n }] }, suggestedType: 'welcome' };
    default:
      return { spec: `vip:${n}`, criteria: { all: [{ field: 'total_spend', op: '>=', value: n }] }, suggestedType: 'vip' };
  }
}

/** Validates a criteria tree's shape (fields and types are checked by the compiler). */
export function parseCriteria(json: unknown, path = 'criteria', depth = 0, count = { n: 0 }): Criteria {
  if (depth > MAX_DEPTH) throw new AppError('bad_segment', `Segment criteria nest deeper than ${MAX_DEPTH} levels.`);
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new AppError('bad_segment', `${path} must be an object {"all": [...]} or {"any": [...]}. ${usage()}`);
  }
  const keys = Object.keys(json);
  if (keys.length !== 1 || (keys[0] !== 'all' && keys[0] !== 'any')) {
    throw new AppError('bad_segment', `${path} must have exactly one key, "all" or "any" (got ${keys.map((k) => `"${k}"`).join(', ') || 'none'}).`);
  }
  const key = keys[0] as 'all' | 'any';
  const list = (json as Record<string, unknown>)[key];
  if (!Array.isArray(list)) throw new AppError('bad_segment', `${path}.${key} must be a list of conditions.`);
  const nodes = list.map((item, i): CriteriaNode => {
    const here = `${path}.${key}[${i}]`;
    if (item && typeof item === 'object' && !Array.isArray(item) && ('all' in item || 'any' in item)) {
      return parseCriteria(item, here, depth + 1, count);
    }
    if (++count.n > MAX_CONDITIONS) throw new AppError('bad_segment', `Segment criteria have more than ${MAX_CONDITIONS} conditions.`);
    const c = conditionSchema.safeParse(item);
    if (!c.success) {
      throw new AppError('bad_segment', `${here} must be {"field": ..., "op": ..., "value": ...}: ${c.error.issues[0]?.message ?? 'invalid'}.`);
    }
    if (!(CRITERIA_OPS as readonly string[]).includes(c.data.op)) {
      throw new AppError('bad_segment', `${here}: unknown op "${truncate(c.data.op)}". Known ops: ${CRITERIA_OPS.join(' ')}.`);
    }
    return { field: c.data.field, op: c.data.op as CriteriaOp, value: c.data.value };
  });
  return key === 'all' ? { all: nodes } : { any: nodes };
}

/** The campaign type for a new campaign: given, else what the segment suggests. */
export function campaignTypeFor(segment: Segment, given?: string): CampaignType {
  if (given === undefined) return segment.suggestedType;
  const t = given.trim().toLowerCase();
  if (!(CAMPAIGN_TYPES as readonly string[]).includes(t)) {
    throw new AppError('bad_campaign_type', `Unknown campaign type "${truncate(given)}". Use one of: ${CAMPAIGN_TYPES.join(', ')}.`);
  }
  return t as CampaignType;
}

function truncate(s: string): string {
  return s.length > 60 ? s.slice(0, 60) + '…' : s;
}
