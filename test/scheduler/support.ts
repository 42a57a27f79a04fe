/** Shared set-up for scheduler tests: a context with a manual clock and config from a test environment, and the rows they read and write. */
import { ManualClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { AppContext } from '../../src/context.ts';
import type { Database } from '../../src/db/database.ts';
import type { MessageStatus } from '../../src/domain/messageStatus.ts';
import { silentLogger } from '../../src/log.ts';
import type { Dispatcher } from '../../src/scheduler/dispatcher.ts';
import { planApprovedMessages } from '../../src/scheduler/planner.ts';
import { insertBatch, insertCampaign, insertCustomer, insertMessage } from '../support/fixtures.ts';

/** A Wednesday 17:00 UTC = 10:00 in Los Angeles, 13:00 in New York: inside every default window. */
export const WEDNESDAY_10AM_LA = '2025-07-16T17:00:00.000Z';

export function testContext(db: Database, env: Record<string, string> = {}, start: string = WEDNESDAY_10AM_LA): AppContext & { clock: ManualClock } {
  const config = loadConfig({ LOG_LEVEL: 'silent', ...env });
  return { config, db, log: silentLogger, clock: new ManualClock(start) };
}

export async function statusOf(db: Database, id: number): Promise<{ status: string; attempts: number; provider_message_id: string | null; extra_provider_ids: string[]; last_error: string | null; error_code: string | null; scheduled_send_time: Date | null }> {
  const { rows } = await db.pool.query(
    'SELECT status, attempts, provider_message_id, extra_provider_ids, last_error, error_code, scheduled_send_time FROM campaign_messages WHERE id = $1',
    [id],
  );
  return rows[0];
}

export async function outboxFor(db: Database, phone: string): Promise<{ body: string; message_id: number | null }[]> {
  const { rows } = await db.pool.query('SELECT body, message_id FROM sms_outbox WHERE to_phone = $1 ORDER BY id', [phone]);
  return rows;
}

export async function campaignStatusOf(db: Database, id: number): Promise<{ status: string; paused_reason: string | null }> {
  const { rows } = await db.pool.query('SELECT status, paused_reason FROM campaigns WHERE id = $1', [id]);
  return rows[0];
}

/** The number's row in contact_status (undefined when it has none: never opted in or out). */
export async function contactStatusOf(db: Database, phone: string): Promise<{ status: string; keyword: string | null; source: string } | undefined> {
  const { rows } = await db.pool.query('SELECT status, keyword, source FROM contact_status WHERE phone = $1', [phone]);
  return rows[0];
}

/** The stored send slot (ms) of each message; NaN where it has none. */
export async function slotsOf(db: Database, ids: number[]): Promise<Map<number, number>> {
  const { rows } = await db.pool.query<{ id: number; at: Date | null }>(
    'SELECT id, scheduled_send_time AS at FROM campaign_messages WHERE id = ANY($1::bigint[])',
    [ids],
  );
  return new Map(rows.map((r) => [Number(r.id), r.at?.getTime() ?? NaN]));
}

/** An approved message of the campaign to a new customer in Los Angeles (CA), due `msAgo` before `now` (a minute unless said). */
export async function insertDueMessage(
  db: Database,
  now: Date,
  m: { campaignId: number; batchId?: number; msAgo?: number; body?: string; consent?: string },
): Promise<{ id: number; phone: string; customerId: number }> {
  const c = await insertCustomer(db.pool, { consent: m.consent, timezone: 'America/Los_Angeles', state: 'CA' });
  const id = await insertMessage(db.pool, {
    campaignId: m.campaignId, batchId: m.batchId, status: 'approved', phone: c.phone, customerId: c.id, body: m.body, scheduledAt: new Date(now.getTime() - (m.msAgo ?? 60_000)),
  });
  return { id, phone: c.phone, customerId: c.id };
}

/**
 * An active campaign with one batch and `count` approved messages to new customers in Los Angeles,
 * then one message in each `extra` status, planned by the real planner.
 */
export async function insertPlannedCampaign(
  db: Database,
  ctx: AppContext,
  c: { name: string; count: number; extra?: MessageStatus[]; body?: string },
): Promise<{ campaignId: number; batchId: number; ids: number[]; phones: string[] }> {
  const campaignId = await insertCampaign(db.pool, { name: c.name });
  const batchId = await insertBatch(db.pool, campaignId);
  const ids: number[] = [];
  const phones: string[] = [];
  for (const status of [...Array<MessageStatus>(c.count).fill('approved'), ...(c.extra ?? [])]) {
    const customer = await insertCustomer(db.pool, { timezone: 'America/Los_Angeles', state: 'CA' });
    ids.push(await insertMessage(db.pool, { campaignId, batchId, status, phone: customer.phone, customerId: customer.id, body: c.body }));
    phones.push(customer.phone);
  }
  await db.tx((q) => planApprovedMessages(q, ctx, campaignId));
  return { campaignId, batchId, ids, phones };
}

/**
 * What a sender that died leaves: a message after one attempt at `attemptAt` whose outcome was never
 * recorded (`sending`; `unknown` once past the lease; `needs_review` with `lastError` once reconciled).
 */
export async function insertAttemptedMessage(
  db: Database,
  m: {
    campaignId: number; phone?: string; customerId?: number; body?: string; batchId?: number; scheduledAt?: Date;
    attemptAt: Date; status?: 'sending' | 'unknown' | 'needs_review'; lastError?: string;
  },
): Promise<number> {
  const id = await insertMessage(db.pool, {
    campaignId: m.campaignId, batchId: m.batchId, status: m.status ?? 'sending', phone: m.phone, customerId: m.customerId, body: m.body, scheduledAt: m.scheduledAt,
  });
  await db.pool.query('UPDATE campaign_messages SET attempts = 1, last_attempt_at = $2, last_error = $3 WHERE id = $1', [id, m.attemptAt, m.lastError ?? null]);
  return id;
}

/** An SMS the local outbox provider holds for the message (its first bubble), as if it had gone at `at`. */
export async function insertOutboxSms(db: Database, sms: { providerMessageId: string; phone: string; body: string; messageId: number; at: Date }): Promise<void> {
  await db.pool.query(
    `INSERT INTO sms_outbox (provider_message_id, to_phone, body, message_id, bubble, created_at) VALUES ($1, $2, $3, $4, 0, $5)`,
    [sms.providerMessageId, sms.phone, sms.body, sms.messageId, sms.at],
  );
}

/** Reconciliation of a sender that died: past the 5-minute lease (sending -> unknown), then past a 30 s settle time (looked up at the provider). */
export async function reconcilePastLeaseAndSettle(clock: ManualClock, dispatcher: Dispatcher): Promise<void> {
  clock.advance(6 * 60_000);
  await dispatcher.reconcileOnce();
  clock.advance(31_000);
  await dispatcher.reconcileOnce();
}
