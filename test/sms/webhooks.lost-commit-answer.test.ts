/**
 * A webhook's transaction runs again after a connection lost during COMMIT. When that COMMIT
 * did reach the server, the rerun finds its own work and is a duplicate: nothing a first
 * delivery does may depend on not being one, since Twilio never sends the webhook again. A
 * failure reported by a status callback is checked against the error budget all the same,
 * and a HELP from the console's reply box is answered in the transaction that records it.
 * The lost answer is real: a proxy forwards the COMMIT and cuts the connection before its reply.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type Database } from '../../src/db/database.ts';
import { handleInboundSms } from '../../src/sms/inbound.ts';
import { handleStatusCallback } from '../../src/sms/status.ts';
import { openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { campaignStatusOf, outboxFor, statusOf, testContext } from '../scheduler/support.ts';
import { CommitAckProxy } from '../support/commitAckProxy.ts';

describe.skipIf(!process.env.TEST_DATABASE_URL)('a webhook whose COMMIT succeeded but whose answer was lost, on postgres', () => {
  let db: Database & { url?: string };
  let proxied: Database;
  let proxy: CommitAckProxy;
  let ctx: ReturnType<typeof testContext>;
  beforeAll(async () => {
    db = await openTestDatabase('postgres');
    const u = new URL(db.url!);
    proxy = new CommitAckProxy({ host: u.hostname, port: Number(u.port || 5432) });
    const port = await proxy.start();
    u.host = `127.0.0.1:${port}`;
    proxied = await openPostgres(u.toString());
    ctx = testContext(proxied, { RECIPIENT_QUIET_HOURS: 'off' });
  });
  afterAll(async () => {
    await proxied?.close();
    await proxy?.stop();
    await db?.close();
  });

  /** A campaign with an error budget of 1: one failed send pauses it. One sent message to fail. */
  async function sentMessage(name: string) {
    const campaignId = await insertCampaign(db.pool, { name, settings: { errorBudget: 1, errorBudgetWindow: 20 } });
    const c = await insertCustomer(db.pool);
    const id = await insertMessage(db.pool, { campaignId, status: 'sent', phone: c.phone, customerId: c.id });
    await db.pool.query('UPDATE campaign_messages SET last_attempt_at = $2 WHERE id = $1', [id, ctx.clock.now()]);
    const sid = (await statusOf(db, id)).provider_message_id!;
    return { campaignId, id, sid };
  }

  it('(control) a failed callback spends the error budget and pauses the campaign', async () => {
    const m = await sentMessage('lost-ack-control');
    await handleStatusCallback(ctx, { providerMessageId: m.sid, status: 'failed', errorCode: '30006' });
    expect((await statusOf(db, m.id)).status).toBe('failed');
    expect((await campaignStatusOf(db, m.campaignId)).status).toBe('paused');
  });

  it('a failed callback whose COMMIT answer is lost runs again as a duplicate, and the error budget still pauses the campaign', async () => {
    const m = await sentMessage('lost-ack-budget');
    const lostBefore = proxy.lost;
    proxy.armed = true;
    // The first run commits and its answer is lost; the rerun finds the event stored.
    await handleStatusCallback(ctx, { providerMessageId: m.sid, status: 'failed', errorCode: '30006' });
    expect(proxy.lost).toBe(lostBefore + 1);
    expect((await statusOf(db, m.id)).status).toBe('failed');
    // Same failure, same budget as the control: the campaign must be paused.
    expect((await campaignStatusOf(db, m.campaignId)).status).toBe('paused');
  });

  it('a HELP from the console reply box whose COMMIT answer is lost gets its help text once', async () => {
    const c = await insertCustomer(db.pool);
    const lostBefore = proxy.lost;
    proxy.armed = true;
    const r = await handleInboundSms(ctx, { providerMessageId: 'console-help-lost-ack', from: c.phone, body: 'HELP' });
    expect(proxy.lost).toBe(lostBefore + 1);
    expect(r.kind).toBe('help');
    expect((await outboxFor(db, c.phone)).map((o) => o.body)).toEqual([r.reply]);
  });
});
