/** SQL of the customer import: one statement per batch (upsert, conflicts, consent audit, opt-outs). */
import type { Queryable } from '../db/database.ts';
import type { Surface } from '../db/queries/audit.ts';
import type { CustomerRow } from './parseRow.ts';

/**
 * Columns an import fills: a stated value replaces the stored one, an unstated (null) one
 * keeps it. Consent and attributes have their own rules below.
 */
const PLAIN_COLUMNS = [
  'external_id',
  'name',
  'email',
  'timezone',
  'state',
  'last_visit_at',
  'first_seen_at',
  'visits',
  'total_spend',
  'favorite_category',
] as const;

const SET_PLAIN = PLAIN_COLUMNS.map((c) => `${c} = COALESCE(EXCLUDED.${c}, c.${c})`).join(',\n    ');
const CHANGED_PLAIN = PLAIN_COLUMNS.map((c) => `(EXCLUDED.${c} IS NOT NULL AND EXCLUDED.${c} IS DISTINCT FROM c.${c})`).join('\n    OR ');

/*
 * Side effects: inserts new customers, updates changed ones, and writes one audit row per
 * consent change. One statement, so a batch is atomic without a transaction round trip.
 * - conflict: a row whose external_id already belongs to another phone is not written
 *   (external_id is unique; the phone is the key).
 * - Only rows whose stored values actually change are updated (and returned); the rest
 *   are "unchanged" and keep their updated_at.
 * - Attributes are merged key by key (a file never deletes an attribute).
 * - Consent changes only when the file states it (consent_source is set only then), and
 *   consent_source/consent_at move only when the status really changes.
 * - contact_status (opt-outs) is only read, never written: an import re-subscribes nobody.
 * CTEs all see the snapshot the statement started from, so `before` holds the prior consent
 *   (only rows that state a consent can change it, so only those are looked up).
 * - Stored customers are looked up row by row through their unique indexes (LATERAL ... LIMIT 1):
 *   a plain join lets the planner hash the whole customers table for every batch, which made
 *   an import slow down as the table grew (quadratic in the file size).
 */
const UPSERT_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                       $7::date[], $8::date[], $9::int[], $10::numeric[], $11::text[], $12::jsonb[], $13::text[], $14::int[])
    AS t(phone, external_id, name, email, timezone, state,
         last_visit_at, first_seen_at, visits, total_spend, favorite_category, attributes, consent_status, line)
),
conflict AS (
  SELECT i.phone, o.phone AS owner FROM input i
  CROSS JOIN LATERAL (SELECT c.phone FROM customers c WHERE c.external_id = i.external_id AND c.phone <> i.phone LIMIT 1) o
  WHERE i.external_id IS NOT NULL
),
before AS (
  SELECT i.phone, b.consent_status FROM input i
  CROSS JOIN LATERAL (SELECT c.consent_status FROM customers c WHERE c.phone = i.phone LIMIT 1) b
  WHERE i.consent_status IS NOT NULL
),
upserted AS (
  INSERT INTO customers AS c (phone, ${PLAIN_COLUMNS.join(', ')}, attributes,
                              consent_status, consent_source, consent_at, created_at, updated_at)
  SELECT phone, ${PLAIN_COLUMNS.join(', ')}, attributes,
         COALESCE(consent_status, 'unknown'),
         CASE WHEN consent_status IS NOT NULL THEN $15::text END,
         CASE WHEN consent_status IS NOT NULL THEN $16::timestamptz END,
         $16::timestamptz, $16::timestamptz
  FROM input WHERE phone NOT IN (SELECT phone FROM conflict)
  ON CONFLICT (phone) DO UPDATE SET
    ${SET_PLAIN},
    attributes = c.attributes || EXCLUDED.attributes,
    consent_status = CASE WHEN EXCLUDED.consent_source IS NOT NULL THEN EXCLUDED.consent_status ELSE c.consent_status END,
    consent_source = CASE WHEN EXCLUDED.consent_source IS NOT NULL AND EXCLUDED.consent_status <> c.consent_status
                          THEN EXCLUDED.consent_source ELSE c.consent_source END,
    consent_at = CASE WHEN EXCLUDED.consent_source IS NOT NULL AND EXCLUDED.consent_status <> c.consent_status
                      THEN EXCLUDED.consent_at ELSE c.consent_at END,
    updated_at = EXCLUDED.updated_at
  WHERE ${CHANGED_PLAIN}
    OR NOT (c.attributes @> EXCLUDED.attributes)
    OR (EXCLUDED.consent_source IS NOT NULL AND EXCLUDED.consent_status <> c.consent_status)
  RETURNING c.id, c.phone, (c.xmax = 0) AS inserted, c.consent_status
),
consent_changed AS (
  SELECT u.id, u.phone, b.consent_status AS before, u.consent_status AS after
  FROM upserted u JOIN before b ON b.phone = u.phone
  WHERE b.consent_status <> u.consent_status
),
audited AS (
  INSERT INTO audit_log (actor, surface, action, entity_type, entity_id, before, after)
  SELECT $17, $18, 'customer.consent_imported', 'customer', ch.id::text,
         jsonb_build_object('consent_status', ch.before),
         jsonb_build_object('consent_status', ch.after, 'source', $15::text, 'line', i.line)
  FROM consent_changed ch JOIN input i ON i.phone = ch.phone
)
SELECT 'inserted' AS outcome, phone, NULL AS detail FROM upserted WHERE inserted
UNION ALL SELECT 'updated', phone, NULL FROM upserted WHERE NOT inserted
UNION ALL SELECT 'conflict', phone, owner FROM conflict
UNION ALL SELECT 'consent', phone, after FROM consent_changed
UNION ALL SELECT 'opted_out', s.phone, NULL FROM contact_status s JOIN input i ON i.phone = s.phone
          WHERE s.status = 'opted_out' AND s.phone NOT IN (SELECT phone FROM conflict)`;

export interface BatchRow {
  row: CustomerRow;
  line: number;
}

/** What one batch did, by phone; phones not listed under inserted/updated/conflict were unchanged. */
export interface BatchOutcome {
  inserted: Set<string>;
  updated: Set<string>;
  /** phone -> the phone that already holds the row's external_id. */
  conflicts: Map<string, string>;
  /** phone -> the consent it now has, for existing customers whose consent the file changed. */
  consentChanged: Map<string, string>;
  /** Numbers of the batch that are opted out (and stay so). */
  optedOut: Set<string>;
}

/**
 * Upserts one batch. Phones must be distinct within it, and so must external ids
 * (the caller resolves both).
 */
export async function upsertCustomerBatch(
  q: Queryable,
  batch: readonly BatchRow[],
  opts: { now: Date; consentSource: string; actor: string; surface: Surface },
): Promise<BatchOutcome> {
  const col = <T>(f: (r: CustomerRow) => T) => batch.map((b) => f(b.row));
  const { rows } = await q.query<{ outcome: string; phone: string; detail: string | null }>(UPSERT_SQL, [
    col((r) => r.phone),
    col((r) => r.externalId),
    col((r) => r.name),
    col((r) => r.email),
    col((r) => r.timezone),
    col((r) => r.state),
    col((r) => r.lastVisit),
    col((r) => r.firstSeen),
    col((r) => r.visits),
    col((r) => r.totalSpend),
    col((r) => r.favoriteCategory),
    col((r) => JSON.stringify(r.attributes)),
    col((r) => r.consent),
    batch.map((b) => b.line),
    opts.consentSource,
    opts.now,
    opts.actor,
    opts.surface,
  ]);
  const out: BatchOutcome = { inserted: new Set(), updated: new Set(), conflicts: new Map(), consentChanged: new Map(), optedOut: new Set() };
  for (const r of rows) {
    if (r.outcome === 'inserted') out.inserted.add(r.phone);
    else if (r.outcome === 'updated') out.updated.add(r.phone);
    else if (r.outcome === 'conflict') out.conflicts.set(r.phone, r.detail!);
    else if (r.outcome === 'consent') out.consentChanged.set(r.phone, r.detail!);
    else out.optedOut.add(r.phone);
  }
  return out;
}

/** The customer with this number, as far as sending to it goes (consent and place), if any. */
export async function customerForSending(
  q: Queryable,
  phone: string,
): Promise<{ name: string | null; consent_status: string; timezone: string | null; state: string | null } | undefined> {
  const { rows } = await q.query('SELECT name, consent_status, timezone, state FROM customers WHERE phone = $1', [phone]);
  return rows[0];
}
