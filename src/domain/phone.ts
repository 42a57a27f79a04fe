/** Phone numbers: normalised to E.164 with libphonenumber-js, masked for chat. */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

export type PhoneResult = { ok: true; e164: string } | { ok: false; reason: string };

export function normalizePhone(input: string, defaultRegion = 'US'): PhoneResult {
  const raw = (input ?? '').trim();
  if (!raw) return { ok: false, reason: 'phone is empty' };
  if (!/^[+\d\s().\-/]+(\s*(x|ext\.?)\s*\d+)?$/i.test(raw)) {
    return { ok: false, reason: `"${truncate(raw)}" is not a phone number` };
  }
  const parsed = parsePhoneNumberFromString(raw, defaultRegion as CountryCode);
  if (!parsed) return { ok: false, reason: `"${truncate(raw)}" is not a phone number` };
  if (!parsed.isValid()) return { ok: false, reason: `"${truncate(raw)}" is not a valid number in ${parsed.country ?? defaultRegion}` };
  const type = parsed.getType();
  if (type === 'FIXED_LINE') return { ok: false, reason: `"${truncate(raw)}" is a landline and cannot receive SMS` };
  return { ok: true, e164: parsed.number };
}

/** "+14085559711" -> "+1408***9711": enough to recognise, not enough to copy. */
export function maskPhone(e164: string): string {
  if (e164.length <= 8) return e164.slice(0, 2) + '***' + e164.slice(-2);
  return e164.slice(0, 5) + '***' + e164.slice(-4);
}

function truncate(s: string): string {
  return s.length > 40 ? s.slice(0, 40) + '…' : s;
}
