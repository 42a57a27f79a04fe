/**
 * One CSV record -> one validated, normalised customer row, or the reason it was refused.
 * Empty cells mean "not stated" (null) and never erase what is stored.
 */
import { z } from 'zod';
import { normalizePhone } from '../domain/phone.ts';
import { FIELD_NAMES, type ColumnMap, type CustomerField } from './columns.ts';
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

/** A cell as text: sanitised, empty -> undefined. */
const cell = z
  .string()
  .optional()
  .transform((s) => (s === undefined ? undefined : sanitizeText(s) || undefined));

function text(limit: number) {
  return cell.transform((s, ctx) => {
    if (s === undefined) return null;
    if (s.length > limit) {
      ctx.addIssue({ code: 'custom', message: `is ${s.length} characters long (at most ${limit})` });
      return z.NEVER;
    }
    return s;
  });
}

function parsed<T>(parse: (s: string) => Parsed<T>) {
  return cell.transform((s, ctx): T | null => {
    if (s === undefined) return null;
    const r = parse(s);
    if (!r.ok) {
      ctx.addIssue({ code: 'custom', message: r.message });
      return z.NEVER;
    }
    return r.value;
  });
}

function rowSchema(rc: RowContext) {
  return z
    .object({
      phone: z
        .string()
        .optional()
        .transform((s, ctx) => {
          const r = normalizePhone(sanitizeText(s ?? ''), rc.phoneRegion);
          if (!r.ok) {
            ctx.addIssue({ code: 'custom', message: r.reason });
            return z.NEVER;
          }
          return r.e164;
        }),
      name: text(TEXT_LIMITS.name),
      firstName: text(TEXT_LIMITS.name),
      lastName: text(TEXT_LIMITS.name),
      email: parsed(parseEmail),
      externalId: text(TEXT_LIMITS.externalId),
      lastVisit: parsed((s) => parseDate(s, rc.latestDate)),
      firstSeen: parsed((s) => parseDate(s, rc.latestDate)),
      visits: parsed(parseCount),
      totalSpend: parsed(parseMoney),
      favoriteCategory: text(TEXT_LIMITS.favoriteCategory),
      timezone: parsed(parseTimezone),
      state: text(TEXT_LIMITS.state).transform((s) => (s === null ? null : normalizeState(s))),
      consent: parsed(parseConsent),
      attributes: z.record(z.string(), text(TEXT_LIMITS.attribute)),
    })
    .transform(({ firstName, lastName, attributes, ...r }): CustomerRow => {
      const name = r.name ?? ([firstName, lastName].filter(Boolean).join(' ') || null);
      const attrs: Record<string, string> = {};
      for (const [k, v] of Object.entries(attributes)) if (v !== null) attrs[k] = v;
      return { ...r, name, attributes: attrs };
    });
}


/** Builds the row parser for one file's columns. */
export function createRowParser(columns: ColumnMap, rc: RowContext): (record: string[]) => RowResult {
  const schema = rowSchema(rc);
  const fieldEntries = Object.entries(columns.fields) as [CustomerField, number][];
  return (record) => {
    if (record.length > columns.headers.length) {
      return {
        ok: false,
        reason: `has ${record.length} fields but the header has ${columns.headers.length} (an unquoted delimiter inside a value?)`,
      };
    }
    const input: Record<string, unknown> = {};
    for (const [field, index] of fieldEntries) input[field] = record[index];
    const attributes: Record<string, string | undefined> = {};
    for (const a of columns.attributes) attributes[a.key] = record[a.index];
    input.attributes = attributes;
    const r = schema.safeParse(input);
    if (r.success) return { ok: true, row: r.data };
    const reason = r.error.issues
      .map((i) => {
        const [field, key] = i.path as string[];
        const label = field === 'attributes' ? `"${key}"` : FIELD_NAMES[field as CustomerField] ?? String(field);
        return `${label}: ${i.message}`;
      })
      .join('; ');
    return { ok: false, reason };
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
