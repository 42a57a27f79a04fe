/**
 * Twilio never sends a webhook twice by itself: an inbound STOP whose transaction fails for a
 * passing reason (chosen as a deadlock's victim, a connection lost) would be lost, and the
 * number texted again. Such a transaction runs again; a second run of one that did commit is
 * a duplicate (deduplicated by MessageSid), so running again is always safe.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { isTransient, rerunTransient, TRANSIENT_RETRIES } from '../../src/db/transient.ts';
import { silentLogger } from '../../src/log.ts';
import { openTestDatabase } from '../support/db.ts';
import { insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';
import { waitForLockWaiters } from '../support/locks.ts';
import { postSignedWebhook, serveTwilioWebhooks, twilioWebhookEnv, type WebhookServer } from '../support/twilioWebhooks.ts';
import { statusOf, testContext } from '../scheduler/support.ts';

const PUBLIC_URL = 'https://smsops.example.com';
const TOKEN = 'webhook-auth-token';

describe('which failures are worth running a transaction again', () => {
  const pgError = (code: string) => Object.assign(new Error(`server said ${code}`), { code });

  it('deadlocks, serialization failures, restarts and lost connections are; our own refusals and constraint violations are not', () => {
    for (const code of ['40P01', '40001', '55P03', '57P01', '57P03', '08006', '08003', '53300', 'ECONNRESET', 'ECONNREFUSED']) {
      expect(isTransient(pgError(code)), code).toBe(true);
    }
    expect(isTransient(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransient(new Error('timeout exceeded when trying to connect'))).toBe(true);
    for (const code of ['23505', '23514', '42P01', '22P02', '25P03', 'not_found']) expect(isTransient(pgError(code)), code).toBe(false);
    expect(isTransient(new Error('Message 4 does not exist.'))).toBe(false);
    expect(isTransient(undefined)).toBe(false);
  });

  it(`runs again after a passing failure, at most ${TRANSIENT_RETRIES} more times, and never after any other`, async () => {
    const noWait = async () => undefined;
    let runs = 0;
    expect(await rerunTransient(async () => (++runs < 3 ? Promise.reject(pgError('40P01')) : 'done'), silentLogger, noWait)).toBe('done');
    expect(runs).toBe(3);

    runs = 0;
    await expect(rerunTransient(async () => (runs++, Promise.reject(pgError('40001'))), silentLogger, noWait)).rejects.toThrow('40001');
    expect(runs).toBe(TRANSIENT_RETRIES + 1);

    runs = 0;
    await expect(rerunTransient(async () => (runs++, Promise.reject(pgError('23505'))), silentLogger, noWait)).rejects.toThrow('23505');
    expect(runs).toBe(1);
  });
});

// Two sessions that each wait for the other: PostgreSQL only (the embedded engine is one session).
describe.skipIf(!process.env.TEST_DATABASE_URL)('a STOP chosen as a deadlock victim, on postgres', () => {
  let db: Database;
  let web: WebhookServer;
  let ctx: ReturnType<typeof testContext>;
  beforeAll(async () => {
    db = await openTestDatabase('postgres');
    ctx = testContext(db, twilioWebhookEnv(TOKEN, PUBLIC_URL));
    web = await serveTwilioWebhooks(ctx);
  });
  afterAll(async () => {
    await web?.close();
    await db?.close();
  });

  const inbound = (params: Record<string, string>) =>
    postSignedWebhook(web.base, '/twilio/inbound', params, { authToken: TOKEN, signedUrl: PUBLIC_URL + '/twilio/inbound' });

  it('is run again: the webhook answers 200, the opt-out is recorded and the pending message cancelled', async () => {
    const c = await insertCustomer(db.pool, { name: 'Robin Diaz' });
    const campaignId = await insertCampaign(db.pool, { name: 'deadlock-stop' });
    const id = await insertMessage(db.pool, { campaignId, status: 'approved', phone: c.phone, customerId: c.id, scheduledAt: new Date(ctx.clock.now().getTime() + 3_600_000) });
    await db.pool.query(`INSERT INTO contact_status (phone, status, keyword, source) VALUES ($1, 'subscribed', 'START', 'sms')`, [c.phone]);

    // Another transaction holds the pending message (as a claim or a cancel would), and will
    // want the number's opt-out row, which the STOP takes first: each waits for the other.
    const other = await db.pool.connect();
    try {
      // The STOP's session notices the deadlock first (its 1 s default) and is the one ended.
      await other.query(`BEGIN; SET LOCAL deadlock_timeout = '20s'`);
      await other.query('SELECT id FROM campaign_messages WHERE id = $1 FOR UPDATE', [id]);
      const stop = inbound({ MessageSid: 'SMdeadlock1', From: c.phone, To: '+14155550100', Body: 'STOP' });
      await waitForLockWaiters(db.pool, 1);
      // Returns only once the STOP's transaction is gone: it cannot commit while this one holds the message.
      await other.query(`UPDATE contact_status SET updated_at = now() WHERE phone = $1`, [c.phone]);
      await other.query('COMMIT');

      const res = await stop;
      expect(res.status).toBe(200);
    } finally {
      other.release();
    }
    expect((await db.pool.query('SELECT status, keyword FROM contact_status WHERE phone = $1', [c.phone])).rows[0]).toEqual({ status: 'opted_out', keyword: 'STOP' });
    expect((await statusOf(db, id)).status).toBe('cancelled');
    // Handled once: one inbound row, one opt-out post.
    expect(Number((await db.pool.query(`SELECT count(*) AS n FROM inbound_messages WHERE provider_message_id = 'SMdeadlock1'`)).rows[0].n)).toBe(1);
    expect(Number((await db.pool.query(`SELECT count(*) AS n FROM chat_outbox WHERE dedupe_key LIKE 'inbound:%' AND payload::text LIKE '%Robin Diaz%'`)).rows[0].n)).toBe(1);
  });
});
