import { IANAZone } from 'luxon';
import { describe, expect, it } from 'vitest';
import { sameClock, US_STATE_ZONES } from '../../src/domain/usStateZones.ts';
import { usStateCode } from '../../src/domain/usStates.ts';

const NAMES = [
  'Alabama', 'Alaska', 'Arizona', 'Arkansas', 'California', 'Colorado', 'Connecticut', 'Delaware', 'District of Columbia',
  'Florida', 'Georgia', 'Hawaii', 'Idaho', 'Illinois', 'Indiana', 'Iowa', 'Kansas', 'Kentucky', 'Louisiana', 'Maine',
  'Maryland', 'Massachusetts', 'Michigan', 'Minnesota', 'Mississippi', 'Missouri', 'Montana', 'Nebraska', 'Nevada',
  'New Hampshire', 'New Jersey', 'New Mexico', 'New York', 'North Carolina', 'North Dakota', 'Ohio', 'Oklahoma', 'Oregon',
  'Pennsylvania', 'Rhode Island', 'South Carolina', 'South Dakota', 'Tennessee', 'Texas', 'Utah', 'Vermont', 'Virginia',
  'Washington', 'West Virginia', 'Wisconsin', 'Wyoming', 'Puerto Rico', 'Guam', 'Virgin Islands', 'American Samoa',
  'Northern Mariana Islands',
];

describe('US state zones', () => {
  it('has zones for every state, DC and territory the import recognises, all valid IANA zones', () => {
    const codes = NAMES.map((n) => usStateCode(n));
    expect(codes).not.toContain(null);
    expect(Object.keys(US_STATE_ZONES).sort()).toEqual([...new Set(codes)].sort());
    for (const zones of Object.values(US_STATE_ZONES)) {
      expect(zones.length).toBeGreaterThan(0);
      for (const z of zones) expect(IANAZone.isValidZone(z), z).toBe(true);
    }
  });

  it.each([
    ['AK', ['America/Anchorage', 'America/Adak']],
    ['AZ', ['America/Phoenix', 'America/Denver']],
    ['FL', ['America/New_York', 'America/Chicago']],
    ['ID', ['America/Boise', 'America/Los_Angeles']],
    ['IN', ['America/Indiana/Indianapolis', 'America/Chicago']],
    ['KS', ['America/Chicago', 'America/Denver']],
    ['KY', ['America/New_York', 'America/Chicago']],
    ['MI', ['America/Detroit', 'America/Menominee']],
    ['ND', ['America/Chicago', 'America/Denver']],
    ['NE', ['America/Chicago', 'America/Denver']],
    ['NV', ['America/Los_Angeles', 'America/Denver']],
    ['OR', ['America/Los_Angeles', 'America/Boise']],
    ['SD', ['America/Chicago', 'America/Denver']],
    ['TN', ['America/Chicago', 'America/New_York']],
    ['TX', ['America/Chicago', 'America/Denver']],
  ])('%s keeps the clocks of %j', (state, zones) => {
    expect([...US_STATE_ZONES[state]!].sort()).toEqual([...zones].sort());
  });

  it('lists each clock of a state once', () => {
    for (const [state, zones] of Object.entries(US_STATE_ZONES)) {
      for (let i = 0; i < zones.length; i++) {
        for (let j = i + 1; j < zones.length; j++) expect(sameClock(zones[i]!, zones[j]!), `${state}: ${zones[i]} and ${zones[j]}`).toBe(false);
      }
    }
  });

  it.each([
    ['America/Indiana/Indianapolis', 'America/New_York', true],
    ['America/Kentucky/Louisville', 'America/New_York', true],
    ['America/North_Dakota/Center', 'America/Chicago', true],
    ['America/Boise', 'America/Denver', true],
    ['America/Juneau', 'America/Anchorage', true],
    ['Pacific/Saipan', 'Pacific/Guam', true],
    ['America/Phoenix', 'America/Denver', false],
    ['America/Adak', 'America/Anchorage', false],
    ['Pacific/Honolulu', 'America/Adak', false],
    ['America/Chicago', 'America/New_York', false],
  ])('%s keeps the same time as %s: %s', (a, b, same) => {
    expect(sameClock(a, b)).toBe(same);
  });
});
