import { describe, expect, it } from 'vitest';
import { significantDigits } from '../../src/domain/numberGeo.ts';
import { geoKey, locateRecipient, ZONE_OVERRIDES } from '../../src/domain/quietHours.ts';

const CAMPAIGN_ZONE = 'America/Los_Angeles';
const PENSACOLA = '+18504345678'; // 850-434: Central
const TALLAHASSEE = '+18502245678'; // 850-224: Eastern
const SAN_FRANCISCO = '+14155552671';
const numberOnly = (e164: string) => locateRecipient(e164, {}, CAMPAIGN_ZONE);

describe('the geo cache key', () => {
  it('keeps +1, the area code and the exchange', () => {
    expect(geoKey(PENSACOLA)).toBe('+1850434');
    expect(geoKey(TALLAHASSEE)).toBe('+1850224');
    expect(geoKey('+447911123456')).toBe('+447911123456');
  });

  it('keeps every digit the NANP data answers by (time zones and places)', () => {
    expect(significantDigits('1')).not.toBeNull();
    expect(significantDigits('1')! + 1).toBeLessThanOrEqual(geoKey(PENSACOLA).length);
  });

  it('is no shorter than any zone override', () => {
    expect(ZONE_OVERRIDES.size).toBeGreaterThan(0);
    for (const prefix of ZONE_OVERRIDES.keys()) expect(geoKey(`${prefix}5555555555`.slice(0, 12)).startsWith(prefix), prefix).toBe(true);
  });

  it('gives two numbers of one area code their own zones, whichever is looked up first', async () => {
    expect(await numberOnly(PENSACOLA)).toMatchObject({ zones: ['America/Chicago'], state: 'FL', zoneSource: 'number' });
    expect(await numberOnly(TALLAHASSEE)).toMatchObject({ zones: ['America/New_York'], state: 'FL', zoneSource: 'number' });
    // The other way round in area code 605 (Sioux Falls Central, Rapid City Mountain).
    expect((await numberOnly('+16053421234')).zones).toEqual(['America/Denver']);
    expect((await numberOnly('+16053341234')).zones).toEqual(['America/Chicago']);
  });
});

describe('where a recipient is', () => {
  it("takes the customer's own zone first", async () => {
    expect(await locateRecipient(SAN_FRANCISCO, { timezone: 'America/New_York', state: 'FL' }, CAMPAIGN_ZONE)).toEqual({
      zones: ['America/New_York'], state: 'FL', zoneSource: 'customer',
    });
    expect(await locateRecipient(PENSACOLA, { timezone: 'America/Denver' }, CAMPAIGN_ZONE)).toEqual({
      zones: ['America/Denver'], state: 'FL', zoneSource: 'customer',
    });
  });

  it("takes the record's state's zones when the number is elsewhere", async () => {
    expect(await locateRecipient(SAN_FRANCISCO, { state: 'FL' }, CAMPAIGN_ZONE)).toEqual({
      zones: ['America/New_York', 'America/Chicago'], state: 'FL', zoneSource: 'state',
    });
    expect(await locateRecipient('+447911123456', { state: 'Texas' }, CAMPAIGN_ZONE)).toEqual({
      zones: ['America/Chicago', 'America/Denver'], state: 'TX', zoneSource: 'state',
    });
  });

  it("takes the number's zones when they are among the state's (more precise)", async () => {
    expect(await locateRecipient(PENSACOLA, { state: 'FL' }, CAMPAIGN_ZONE)).toEqual({ zones: ['America/Chicago'], state: 'FL', zoneSource: 'number' });
    // The data says America/New_York for Indianapolis: the same clock as the state's America/Indiana/Indianapolis.
    expect(await locateRecipient('+13175551234', { state: 'IN' }, CAMPAIGN_ZONE)).toEqual({ zones: ['America/New_York'], state: 'IN', zoneSource: 'number' });
    expect((await locateRecipient('+12082345678', { state: 'ID' }, CAMPAIGN_ZONE)).zoneSource).toBe('number');
  });

  it("takes the state's zones over a number that spans more than the state (toll-free)", async () => {
    expect(await locateRecipient('+18005551234', { state: 'OK' }, CAMPAIGN_ZONE)).toEqual({ zones: ['America/Chicago'], state: 'OK', zoneSource: 'state' });
  });

  it('falls back to the number, then to the campaign zone', async () => {
    expect(await numberOnly(SAN_FRANCISCO)).toEqual({ zones: ['America/Los_Angeles'], state: 'CA', zoneSource: 'number' });
    expect(await locateRecipient(SAN_FRANCISCO, { state: 'nowhere' }, CAMPAIGN_ZONE)).toMatchObject({ zoneSource: 'number', state: 'CA' });
  });

  it('corrects prefixes the data gets wrong', async () => {
    expect((await numberOnly('+16892345678')).zones).toEqual(['America/New_York']); // Orlando
    expect((await numberOnly('+14482345678')).zones).toEqual(['America/New_York', 'America/Chicago']); // Florida panhandle
    expect((await numberOnly('+19075811234')).zones).toEqual(['America/Anchorage']); // Unalaska
  });
});
