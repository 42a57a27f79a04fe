/**
 * One CSV record -> one validated, normalised customer row, or the reason it was refused.
 * Empty cells mean "not stated" (null) and never erase what is stored.
 */
import { z } from 'zod';
import { normalizePhone } from '../domain/phone.ts';
import { CUSTOMER_FIELDS, FIELD_NAMES, type ColumnMap, type CustomerField } from './columns.ts';
import { sanitizeText } from './text.ts';
import {
  normalizeState,
  parseConsent,
  parseCount,
  parseDate,
  parseEmail,
  parseMoney,
  parseTimezone,
  type Consent,
  type Parsed,
} from './values.ts';

/** A customer as the import stores it (null = the file does not say). */
export interface CustomerRow {
  phone: string;
  externalId: string | null;
  name: string | null;
  email: string | null;
  timezone: string | null;
  state: string | null;
  lastVisit: string | null;
  firstSeen: string | null;
  visits: number | null;
  totalSpend: string | null;
  favoriteCategory: string | null;
  consent: Consent | null;
  attributes: Record<string, string>;
}

/**
 * Longest text accepted per field. Longer values are refused, not cut: a 5,000-character
 * "name" is not a name, and a truncated one would end up in an SMS greeting.
 */
export const TEXT_LIMITS = {
  name: 200,
  externalId: 100,
  favoriteCategory: 100,
  state: 50,
  attribute: 1000,
} as const;

export interface RowContext {
  /** Default region for numbers without a country code (config.phoneRegion). */
  phoneRegion: string;
  /** Latest acceptable date (YYYY-MM-DD): dates after it are refused as "in the future". */
  latestDate: string;
}

export type RowResult = { ok: true; row: CustomerRow } | { ok: false; reason: string };

/** Checks one cell (already sanitised, not empty): the stored value or why it was refused. */
type CellCheck = (s: string) => Parsed<unknown>;

function text(limit: number): CellCheck {
  return (s) => (s.length > limit ? { ok: false, message: `is ${s.length} characters long (at most ${limit})` } : { ok: true, value: s });
}

function checks(rc: RowContext): Record<Exclude<CustomerField, 'phone'>, CellCheck> {
  const name = text(TEXT_LIMITS.name);
  const state = text(TEXT_LIMITS.state);
  return {
    name,
    firstName: name,
    lastName: name,
    email: parseEmail,
    externalId: text(TEXT_LIMITS.externalId),
    lastVisit: (s) => parseDate(s, rc.latestDate),
    firstSeen: (s) => parseDate(s, rc.latestDate),
    visits: parseCount,
    totalSpend: parseMoney,
    favoriteCategory: text(TEXT_LIMITS.favoriteCategory),
    timezone: parseTimezone,
    state: (s) => {
      const r = state(s);
      return r.ok ? { ok: true, value: normalizeState(s) } : r;
    },
    consent: parseConsent,
  };
}

/** The zod shape of the column map a row parser is built from (checked once per file, not per row). */
const columnMapSchema = z.object({
  headers: z.array(z.string()),
  fields: z.partialRecord(z.enum(CUSTOMER_FIELDS), z.number().int().nonnegative()),
  attributes: z.array(z.object({ index: z.number().int().nonnegative(), key: z.string().min(1) })),
});

/**
 * Builds the row parser for one file's columns. The checks per field are chosen here, once:
 * a row only runs the checks of the columns the file has, in the order of CUSTOMER_FIELDS
 * (so a row's reasons always list its fields in the same order).
 */
export function createRowParser(columns: ColumnMap, rc: RowContext): (record: string[]) => RowResult {
  const map = columnMapSchema.parse(columns);
  const byField = checks(rc);
  const phoneIndex = map.fields.phone;
  const fields: { field: Exclude<CustomerField, 'phone'>; index: number; check: CellCheck; label: string }[] = [];
  for (const field of CUSTOMER_FIELDS) {
    const index = map.fields[field];
    if (field === 'phone' || index === undefined) continue;
    fields.push({ field, index, check: byField[field], label: FIELD_NAMES[field] });
  }
  const attributes = map.attributes.map((a) => ({ ...a, label: `"${a.key}"` }));
  const attributeText = text(TEXT_LIMITS.attribute);
  const headerCount = map.headers.length;

  return (record) => {
    if (record.length > headerCount) {
      return { ok: false, reason: `has ${record.length} fields but the header has ${headerCount} (an unquoted delimiter inside a value?)` };
    }
    let reasons: string[] | null = null;
    const phone = normalizePhone(sanitizeText(phoneIndex === undefined ? '' : (record[phoneIndex] ?? '')), rc.phoneRegion);
    if (!phone.ok) reasons = [`${FIELD_NAMES.phone}: ${phone.reason}`];

    const values: Partial<Record<CustomerField, unknown>> = {};
    for (const f of fields) {
      const raw = record[f.index];
      const s = raw === undefined ? '' : sanitizeText(raw);
      if (s === '') continue;
      const r = f.check(s);
      if (r.ok) values[f.field] = r.value;
      else (reasons ??= []).push(`${f.label}: ${r.message}`);
    }
    const attrs: Record<string, string> = {};
    for (const a of attributes) {
      const raw = record[a.index];
      const s = raw === undefined ? '' : sanitizeText(raw);
      if (s === '') continue;
      const r = attributeText(s);
      if (r.ok) attrs[a.key] = s;
      else (reasons ??= []).push(`${a.label}: ${r.message}`);
    }
    if (reasons) return { ok: false, reason: reasons.join('; ') };

    const first = values.firstName as string | undefined;
    const last = values.lastName as string | undefined;
    return {
      ok: true,
      row: {
        phone: (phone as { e164: string }).e164,
        externalId: (values.externalId as string | undefined) ?? null,
        name: (values.name as string | undefined) ?? (first && last ? `${first} ${last}` : (first ?? last ?? null)),
        email: (values.email as string | undefined) ?? null,
        timezone: (values.timezone as string | undefined) ?? null,
        state: (values.state as string | undefined) ?? null,
        lastVisit: (values.lastVisit as string | undefined) ?? null,
        firstSeen: (values.firstSeen as string | undefined) ?? null,
        visits: (values.visits as number | undefined) ?? null,
        totalSpend: (values.totalSpend as string | undefined) ?? null,
        favoriteCategory: (values.favoriteCategory as string | undefined) ?? null,
        consent: (values.consent as Consent | null | undefined) ?? null,
        attributes: attrs,
      },
    };
  };
}

/**
 * Folds a later row for the same phone into an earlier one, as if both were imported in
 * order: stated values of the later row win, unstated ones keep the earlier row's.
 */
export function mergeRows(earlier: CustomerRow, later: CustomerRow): CustomerRow {
  const merged = { ...earlier };
  for (const [k, v] of Object.entries(later) as [keyof CustomerRow, unknown][]) {
    if (v !== null && k !== 'attributes') (merged as Record<string, unknown>)[k] = v;
  }
  merged.attributes = { ...earlier.attributes, ...later.attributes };
  return merged;
}
