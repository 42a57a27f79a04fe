import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attributeReply } from '../../src/analytics/attribution.ts';
import type { Database } from '../../src/db/database.ts';
import { engines, openTestDatabase } from '../support/db.ts';
import { insertCampaign } from '../support/fixtures.ts';
import { DAY, HOUR, seedBatch, seedMessage } from './seed.ts';

const T0 = new Date('2026-11-02T18:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

describe.each(engines)('reply attribution on %s', (engine) => {
  let db: Database;
  let spring: number;
  let fall: number;
  let springBatch: number;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    spring = await insertCampaign(db.pool, { name: 'attr-spring' });
    fall = await insertCampaign(db.pool, { name: 'attr-fall' });
    springBatch = await seedBatch(db.pool, spring);
  });
  afterAll(() => db?.close());

  it('two campaigns texting one number: the latest send wins', async () => {
    const phone = '+14155551001';
    const first = await seedMessage(db.pool, { campaignId: spring, batchId: springBatch, phone, status: 'delivered', approvedAt: T0, sentAt: T0 });
    const second = await seedMessage(db.pool, { campaignId: fall, phone, status: 'sent', approvedAt: T0, sentAt: at(2 * DAY) });
    expect(await attributeReply(db.pool, phone, at(1 * DAY))).toEqual({ messageId: first, campaignId: spring, batchId: springBatch });
    expect(await attributeReply(db.pool, phone, at(2 * DAY + HOUR))).toEqual({ messageId: second, campaignId: fall, batchId: null });
  });

  it('a reply after the window closes belongs to nothing; the window end itself still counts', async () => {
    const phone = '+14155551002';
    const id = await seedMessage(db.pool, { campaignId: spring, phone, status: 'delivered', approvedAt: T0, sentAt: T0 });
    expect(await attributeReply(db.pool, phone, at(7 * DAY))).toMatchObject({ messageId: id });
    expect(await attributeReply(db.pool, phone, at(7 * DAY + 1000))).toBeNull();
    // A custom window moves the boundary.
    expect(await attributeReply(db.pool, phone, at(3 * DAY), 2)).toBeNull();
    expect(await attributeReply(db.pool, phone, at(3 * DAY), 3)).toMatchObject({ messageId: id });
  });

  it('a reply before any send belongs to nothing', async () => {
    const phone = '+14155551003';
    await seedMessage(db.pool, { campaignId: spring, phone, status: 'delivered', approvedAt: T0, sentAt: T0 });
    expect(await attributeReply(db.pool, phone, at(-HOUR))).toBeNull();
    expect(await attributeReply(db.pool, '+14155559999', T0)).toBeNull();
  });

  it('messages the provider never accepted do not attract replies', async () => {
    const phone = '+14155551004';
    const sent = await seedMessage(db.pool, { campaignId: spring, phone, status: 'delivered', approvedAt: T0, sentAt: T0 });
    // Later, but never accepted: approved and waiting, or refused by the provider.
    await seedMessage(db.pool, { campaignId: fall, phone, status: 'failed', approvedAt: T0, sentAt: at(HOUR), providerId: null });
    const other = await insertCampaign(db.pool, { name: 'attr-pending' });
    await seedMessage(db.pool, { campaignId: other, phone, status: 'approved', approvedAt: T0 });
    expect(await attributeReply(db.pool, phone, at(2 * HOUR))).toMatchObject({ messageId: sent });
  });

  it('a carrier failure after acceptance still counts as the latest send', async () => {
    const phone = '+14155551005';
    await seedMessage(db.pool, { campaignId: spring, phone, status: 'delivered', approvedAt: T0, sentAt: T0 });
    const failed = await seedMessage(db.pool, { campaignId: fall, phone, status: 'failed', approvedAt: T0, sentAt: at(HOUR), providerId: 'SMcarrierfail1' });
    expect(await attributeReply(db.pool, phone, at(2 * HOUR))).toMatchObject({ messageId: failed, campaignId: fall });
  });

  it('works inside a transaction with its client', async () => {
    const phone = '+14155551006';
    const id = await seedMessage(db.pool, { campaignId: spring, phone, status: 'sent', approvedAt: T0, sentAt: T0 });
    const r = await db.tx((c) => attributeReply(c, phone, at(HOUR)));
    expect(r).toMatchObject({ messageId: id });
  });
});
