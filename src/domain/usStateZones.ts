/**
 * The local clocks of each US state, DC and inhabited territory, as IANA zones: one zone per
 * clock in use somewhere in the state (by the tz database's boundaries), so a recipient
 * known only by state must satisfy every one of them. Zones that keep the same time as one
 * listed (America/Indiana/*, America/Kentucky/*, America/North_Dakota/*, America/Juneau ...)
 * are left out; `sameClock` treats them as that one.
 */
import { IANAZone } from 'luxon';

const EASTERN = 'America/New_York';
const CENTRAL = 'America/Chicago';
const MOUNTAIN = 'America/Denver';
const PACIFIC = 'America/Los_Angeles';

export const US_STATE_ZONES: Readonly<Record<string, readonly string[]>> = {
  AK: ['America/Anchorage', 'America/Adak'], // the Aleutians west of 169.5° W keep Hawaii-Aleutian time
  AL: [CENTRAL],
  AR: [CENTRAL],
  AZ: ['America/Phoenix', MOUNTAIN], // no DST, except the Navajo Nation
  CA: [PACIFIC],
  CO: [MOUNTAIN],
  CT: [EASTERN],
  DC: [EASTERN],
  DE: [EASTERN],
  FL: [EASTERN, CENTRAL], // the panhandle west of the Apalachicola River is Central
  GA: [EASTERN],
  HI: ['Pacific/Honolulu'],
  IA: [CENTRAL],
  ID: ['America/Boise', PACIFIC], // the panhandle is Pacific
  IL: [CENTRAL],
  IN: ['America/Indiana/Indianapolis', CENTRAL], // the Chicago and Evansville corners are Central
  KS: [CENTRAL, MOUNTAIN], // four western counties are Mountain
  KY: [EASTERN, CENTRAL],
  LA: [CENTRAL],
  MA: [EASTERN],
  MD: [EASTERN],
  ME: [EASTERN],
  MI: ['America/Detroit', 'America/Menominee'], // four counties on the Wisconsin border are Central
  MN: [CENTRAL],
  MO: [CENTRAL],
  MS: [CENTRAL],
  MT: [MOUNTAIN],
  NC: [EASTERN],
  ND: [CENTRAL, MOUNTAIN],
  NE: [CENTRAL, MOUNTAIN],
  NH: [EASTERN],
  NJ: [EASTERN],
  NM: [MOUNTAIN],
  NV: [PACIFIC, MOUNTAIN], // West Wendover is Mountain
  NY: [EASTERN],
  OH: [EASTERN],
  OK: [CENTRAL],
  OR: [PACIFIC, 'America/Boise'], // most of Malheur County is Mountain
  PA: [EASTERN],
  RI: [EASTERN],
  SC: [EASTERN],
  SD: [CENTRAL, MOUNTAIN],
  TN: [CENTRAL, EASTERN],
  TX: [CENTRAL, MOUNTAIN], // El Paso and Hudspeth counties are Mountain
  UT: [MOUNTAIN],
  VA: [EASTERN],
  VT: [EASTERN],
  WA: [PACIFIC],
  WI: [CENTRAL],
  WV: [EASTERN],
  WY: [MOUNTAIN],
  AS: ['Pacific/Pago_Pago'],
  GU: ['Pacific/Guam'],
  MP: ['Pacific/Saipan'],
  PR: ['America/Puerto_Rico'],
  VI: ['America/St_Thomas'],
};

const DAY_MS = 86_400_000;
const clocks = new Map<string, string>();

/** A zone's UTC offsets at each noon (UTC) of the current and the next year: equal strings, same clock. */
function clockOf(zone: string): string {
  let clock = clocks.get(zone);
  if (clock === undefined) {
    const z = IANAZone.create(zone);
    const from = Date.UTC(new Date().getUTCFullYear(), 0, 1, 12);
    const offsets: number[] = [];
    if (z.isValid) for (let t = from; t < from + 731 * DAY_MS; t += DAY_MS) offsets.push(z.offset(t));
    clock = z.isValid ? offsets.join(',') : `invalid:${zone}`;
    clocks.set(zone, clock);
  }
  return clock;
}

/** Whether two zones keep the same time (this year and next), whatever their names. */
export function sameClock(a: string, b: string): boolean {
  return a === b || clockOf(a) === clockOf(b);
}
