/**
 * Opt-outs through the real inbound handler: the bare keyword (however it is written) records
 * the opt-out and cancels pending messages; a stop asked for in words is only flagged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { handleInboundSms } from '../../src/sms/inbound.ts';
import { engines, openTestDatabase, type Engine } from '../support/db.ts';
import { insertCampaign, nextPhone } from '../support/fixtures.ts';
import { contactStatusOf, insertDueMessage, statusOf, testContext } from '../scheduler/support.ts';

describe.each(engines)('inbound opt-outs on %s', (engine: Engine) => {
  let db: Database;
  let ctx: ReturnType<typeof testContext>;
  let sid = 0;
  beforeAll(async () => {
    db = await openTestDatabase(engine);
    ctx = testContext(db);
  });
  afterAll(() => db?.close());

  async function pendingTo() {
    const campaignId = await insertCampaign(db.pool, { name: `optout-${engine}-${++sid}` });
    const { id, phone } = await insertDueMessage(db, ctx.clock.now(), { campaignId, msAgo: 0 });
    return { id, phone };
  }
  const optedOut = async (phone: string) => (await contactStatusOf(db, phone))?.status === 'opted_out';

  it.each(['STOP', ' stop ', 'Stop!!', '"STOP"', 'ＳＴＯＰ', '𝐒𝐓𝐎𝐏', 'S\u200bTOP', 'stop 🛑', 'Unsubscribe.', 'opt-out', 'Ｑｕｉｔ'])(
    '%j opts out and cancels pending messages',
    async (body) => {
      const m = await pendingTo();
      const r = await handleInboundSms(ctx, { providerMessageId: `SMkw${engine}${++sid}`, from: m.phone, body });
      expect(r.kind).toBe('stop');
      expect(await optedOut(m.phone)).toBe(true);
      expect((await statusOf(db, m.id)).status).toBe('cancelled');
    },
  );

  it('STOP twice with different sids, and the same sid retried, leave one opt-out and no error', async () => {
    const m = await pendingTo();
    await handleInboundSms(ctx, { providerMessageId: `SMtw${engine}a`, from: m.phone, body: 'STOP' });
    const again = await handleInboundSms(ctx, { providerMessageId: `SMtw${engine}b`, from: m.phone, body: 'stop' });
    const retried = await handleInboundSms(ctx, { providerMessageId: `SMtw${engine}b`, from: m.phone, body: 'stop' });
    expect(again).toMatchObject({ kind: 'stop', duplicate: false, cancelled: 0 });
    expect(retried).toMatchObject({ duplicate: true });
    expect(await optedOut(m.phone)).toBe(true);
  });

  it('a retried START (same sid) after a later STOP does not re-subscribe', async () => {
    const phone = nextPhone();
    await handleInboundSms(ctx, { providerMessageId: `SMrs${engine}1`, from: phone, body: 'START' });
    await handleInboundSms(ctx, { providerMessageId: `SMrs${engine}2`, from: phone, body: 'STOP' });
    await handleInboundSms(ctx, { providerMessageId: `SMrs${engine}1`, from: phone, body: 'START' });
    expect(await optedOut(phone)).toBe(true);
  });

  it.each(['STOP STOP', 'Stop please', 'Please stop', 'STOP IT NOW', 'stop!!! stop!!!', 'Unsubscribe please'])(
    '%j is flagged as a likely opt-out, recorded as such, and changes nothing by itself',
    async (body) => {
      const m = await pendingTo();
      const providerMessageId = `SMph${engine}${++sid}`;
      const r = await handleInboundSms(ctx, { providerMessageId, from: m.phone, body });
      expect(r).toMatchObject({ kind: 'reply', likelyOptOut: true });
      const { rows } = await db.pool.query(`SELECT likely_opt_out FROM inbound_messages WHERE provider_message_id = $1`, [providerMessageId]);
      expect(rows[0].likely_opt_out).toBe(true);
      expect(await optedOut(m.phone)).toBe(false);
      expect((await statusOf(db, m.id)).status).toBe('approved');
    },
  );

  it.each(['stop by tomorrow?', 'I need to cancel my appointment'])('%j is an ordinary reply, not flagged', async (body) => {
    const m = await pendingTo();
    const r = await handleInboundSms(ctx, { providerMessageId: `SMor${engine}${++sid}`, from: m.phone, body });
    expect(r).toMatchObject({ kind: 'reply', likelyOptOut: false });
    expect(await optedOut(m.phone)).toBe(false);
  });
});
