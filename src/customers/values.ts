/**
 * Parsers for the typed values of a customer row. Each returns the stored form or an
 * error message that names the value and what would be accepted.
 */
import { usStateCode } from '../domain/usStates.ts';
import { DateTime, IANAZone } from 'luxon';

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (message: string): Parsed<never> => ({ ok: false, message });

const ISO = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$/;
const YMD_SLASH = /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/;
const US = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?:[ T].*)?$/;
const NAMED_FORMATS = ['MMM d, yyyy', 'MMMM d, yyyy', 'MMM d yyyy', 'MMMM d yyyy', 'd MMM yyyy', 'd MMMM yyyy', 'EEE, MMM d, yyyy'];

/**
 * A calendar date as YYYY-MM-DD from ISO (2025-03-07, 2025-03-07T10:00:00Z: the date as
 * written), 2025/03/07, US month-first (3/7/2025, 03-07-25, 3/7/2025 14:05) or a month name
 * (Mar 7, 2025 / 7 March 2025). Dates after `latest` or before 1900 are refused.
 */
export function parseDate(input: string, latest: string): Parsed<string> {
  const s = input.trim();
  let y: number, m: number, d: number;
  let match: RegExpExecArray | null;
  if ((match = ISO.exec(s) ?? YMD_SLASH.exec(s))) {
    [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  } else if ((match = US.exec(s))) {
    [m, d, y] = [Number(match[1]), Number(match[2]), Number(match[3])];
    if (match[3]!.length === 2) y += y <= Number(latest.slice(2, 4)) ? 2000 : 1900;
  } else {
    const named = NAMED_FORMATS.map((f) => DateTime.fromFormat(s.replace(/\s+/g, ' '), f, { locale: 'en-US' })).find((dt) => dt.isValid);
    if (!named) return fail(`"${clip(s)}" is not a date (use 2025-03-07 or 3/7/2025)`);
    [y, m, d] = [named.year, named.month, named.day];
  }
  const dt = new Date(Date.UTC(y, m - 1, d));
  if (y < 1900) return fail(`"${clip(s)}" is before 1900`);
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== m - 1 || dt.getUTCDate() !== d) {
    return fail(`"${clip(s)}" is not a real calendar date (dates are read month first: 3/7/2025 = March 7)`);
  }
  const iso = dt.toISOString().slice(0, 10);
  if (iso > latest) return fail(`"${clip(s)}" is in the future`);
  return ok(iso);
}

/**
 * Money as a decimal string with two places: "$1,234.50", "1234.5", "USD 20", "€1.234,50",
 * "12,5" (a comma followed by one or two digits is a decimal comma). Negative amounts and
 * amounts of ten billion or more are refused.
 */
export function parseMoney(input: string): Parsed<string> {
  const raw = input.trim();
  if (/^\(.*\)$/.test(raw) || /^-|-$/.test(raw.replace(/[^\d-]/g, ''))) return fail(`"${clip(raw)}" is negative`);
  let s = raw.replace(/^(US\$|USD|EUR|GBP|CAD)\s*|\s*(USD|EUR|GBP|CAD)$/i, '').replace(/[$€£\s\u00A0]/g, '');
  if (/^\d{1,3}(\.\d{3})+,\d{1,2}$/.test(s) || /^\d+,\d{1,2}$/.test(s)) s = s.replace(/\./g, '').replace(',', '.');
  else if (/^\d{1,3}(,\d{3})+(\.\d+)?$/.test(s)) s = s.replace(/,/g, '');
  if (!/^\d+(\.\d+)?$/.test(s)) return fail(`"${clip(raw)}" is not an amount (example: $1,234.50)`);
  const n = Number(s);
  if (n >= 1e10) return fail(`"${clip(raw)}" is too large`);
  return ok(n.toFixed(2));
}

const INT_MAX = 2_147_483_647;

/** A count such as "12", "1,204" or "12.0". */
export function parseCount(input: string): Parsed<number> {
  const s = input.trim().replace(/[,\s]/g, '');
  const n = /^\d+(\.0+)?$/.test(s) ? Number(s) : NaN;
  if (!Number.isFinite(n)) return fail(`"${clip(input.trim())}" is not a whole number of zero or more`);
  if (n > INT_MAX) return fail(`"${clip(input.trim())}" is too large`);
  return ok(n);
}

export type Consent = 'opted_in' | 'denied';
const CONSENT_YES = new Set(['yes', 'y', 'true', 't', '1', 'x', 'optedin', 'optin', 'subscribed', 'granted', 'consented', 'consent', 'accepted', 'confirmed']);
const CONSENT_NO = new Set(['no', 'n', 'false', 'f', '0', 'optedout', 'optout', 'unsubscribed', 'denied', 'declined', 'refused', 'revoked', 'withdrawn', 'notsubscribed']);
const CONSENT_KEEP = new Set(['', 'unknown', 'na', 'none', 'null', 'pending', 'notset']);

/**
 * Consent as the file states it: opted_in, denied, or null when the cell says nothing
 * (empty, "unknown", "n/a"): null keeps what is stored.
 */
export function parseConsent(input: string): Parsed<Consent | null> {
  const key = input.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (CONSENT_YES.has(key)) return ok('opted_in');
  if (CONSENT_NO.has(key)) return ok('denied');
  if (CONSENT_KEEP.has(key)) return ok(null);
  return fail(`"${clip(input.trim())}" is not a consent value (use yes/no, opted_in/denied, subscribed/unsubscribed, or leave it empty)`);
}

const US_ZONES: Record<string, string> = {
  eastern: 'America/New_York', et: 'America/New_York', est: 'America/New_York', edt: 'America/New_York',
  central: 'America/Chicago', ct: 'America/Chicago', cst: 'America/Chicago', cdt: 'America/Chicago',
  mountain: 'America/Denver', mt: 'America/Denver', mst: 'America/Denver', mdt: 'America/Denver',
  pacific: 'America/Los_Angeles', pt: 'America/Los_Angeles', pst: 'America/Los_Angeles', pdt: 'America/Los_Angeles',
  arizona: 'America/Phoenix', alaska: 'America/Anchorage', akst: 'America/Anchorage', hawaii: 'Pacific/Honolulu', hst: 'Pacific/Honolulu',
};

// Checking a zone builds an Intl.DateTimeFormat (about a millisecond); files repeat a handful of zones.
const zoneCache = new Map<string, Parsed<string>>();

/** An IANA zone ("America/Chicago") or a common US name for one ("Central", "EST"). */
export function parseTimezone(input: string): Parsed<string> {
  const s = input.trim();
  let r = zoneCache.get(s);
  if (!r) {
    const alias = US_ZONES[s.toLowerCase().replace(/[^a-z]/g, '').replace(/time$/, '')];
    if (alias) r = ok(alias);
    else if (/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)+$/.test(s) && IANAZone.isValidZone(s)) r = ok(new IANAZone(s).name);
    else r = fail(`"${clip(s)}" is not a time zone (use an IANA name such as America/Chicago)`);
    if (zoneCache.size < 1000) zoneCache.set(s, r);
  }
  return r;
}

/** US states become their two-letter code ("florida", "Fl." -> "FL"); other regions are kept as written. */
export function normalizeState(input: string): string {
  return usStateCode(input) ?? input;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function parseEmail(input: string): Parsed<string> {
  const s = input.trim();
  if (s.length > 254) return fail(`is ${s.length} characters long (at most 254)`);
  return EMAIL.test(s) ? ok(s.toLowerCase()) : fail(`"${clip(s)}" is not an email address`);
}

function clip(s: string): string {
  return s.length > 40 ? s.slice(0, 40) + '…' : s;
}
