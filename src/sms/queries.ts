/**
 * The SMS side's SQL: delivery events, inbound messages, and the campaign messages they
 * concern (by provider id or by phone). Every write and lock is commented.
 */
import type { Queryable } from '../db/database.ts';
import type { InboundKind } from '../domain/keywords.ts';
import type { MessageStatus } from '../domain/messageStatus.ts';
import { PENDING_STATUSES } from '../domain/messageStatus.ts';

/**
 * Records a delivery status callback, once per (provider id, status) (side effect: one
 * insert; a repeat inserts nothing). True the first time, false for a duplicate.
 */
export async function recordDeliveryEvent(
  q: Queryable,
  e: { providerMessageId: string; status: string; errorCode: string | null; payload: Record<string, unknown>; receivedAt: Date },
): Promise<boolean> {
  const ins = await q.query(
    `INSERT INTO delivery_events (provider_message_id, status, error_code, payload, received_at)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider_message_id, status) DO NOTHING RETURNING id`,
    [e.providerMessageId, e.status, e.errorCode, JSON.stringify(e.payload), e.receivedAt],
  );
  return !!ins.rowCount;
}

/**
 * The final statuses (delivered, undelivered, failed) recorded for `providerIds`, in the
 * order they arrived.
 */
export async function finalDeliveryEvents(
  q: Queryable,
  providerIds: string[],
): Promise<{ provider_message_id: string; status: string; error_code: string | null }[]> {
  const { rows } = await q.query<{ provider_message_id: string; status: string; error_code: string | null }>(
    `SELECT provider_message_id, status, error_code FROM delivery_events
     WHERE provider_message_id = ANY($1::text[]) AND status IN ('delivered', 'undelivered', 'failed') ORDER BY received_at, id`,
    [providerIds],
  );
  return rows;
}

/** The campaign of the message that owns `providerMessageId`, when that message is in one of `statuses`; else null. */
export async function campaignOfProviderId(q: Queryable, providerMessageId: string, statuses: readonly string[]): Promise<number | null> {
  const { rows } = await q.query<{ campaign_id: number }>(
    `SELECT campaign_id FROM campaign_messages WHERE provider_message_id = $1 AND status = ANY($2::text[])`,
    [providerMessageId, statuses],
  );
  return rows[0] ? Number(rows[0].campaign_id) : null;
}

/** The message that owns `providerMessageId`: its id, status, batch and campaign. */
export async function messageByProviderId(
  q: Queryable,
  providerMessageId: string,
): Promise<{ id: number; status: MessageStatus; batch_id: number | null; campaign_id: number } | undefined> {
  const { rows } = await q.query<{ id: number; status: MessageStatus; batch_id: number | null; campaign_id: number }>(
    'SELECT id, status, batch_id, campaign_id FROM campaign_messages WHERE provider_message_id = $1',
    [providerMessageId],
  );
  return rows[0];
}

/** Advisory-lock namespace of provider ids (the two-key form; see lockCampaignCaps for another). */
const PROVIDER_ID_LOCK = 0x534d54;

/**
 * Makes a callback and the record of its send take turns on the provider id, until the
 * transaction ends. Without it a callback could look for its message before the record
 * committed (not there yet: it only keeps the event) while the record had already read the
 * events (not there yet): applied by neither, the carrier's "failed" lost. In key order (no
 * deadlock between two records whose ids share a hash).
 */
export async function lockProviderIds(q: Queryable, providerIds: string[]): Promise<void> {
  await q.query(
    `SELECT pg_advisory_xact_lock(${PROVIDER_ID_LOCK}, k) FROM (SELECT DISTINCT hashtext(id) AS k FROM unnest($1::text[]) AS id) keys ORDER BY k`,
    [providerIds],
  );
}

export interface LatestMessage {
  id: number;
  campaign_id: number;
  batch_id: number | null;
  customer_id: number | null;
  customer_name: string | null;
  brand: string | null;
}

/** The latest message to a number (sent first): its thread hears of the number's replies and opt-outs. */
export async function latestMessageTo(q: Queryable, phone: string): Promise<LatestMessage | undefined> {
  const { rows } = await q.query<LatestMessage>(
    `SELECT m.id, m.campaign_id, m.batch_id, m.customer_id, cu.name AS customer_name, c.brief->>'brand' AS brand
     FROM campaign_messages m JOIN campaigns c ON c.id = m.campaign_id LEFT JOIN customers cu ON cu.id = m.customer_id
     WHERE m.phone = $1
     ORDER BY (m.sent_at IS NOT NULL) DESC, m.sent_at DESC NULLS LAST, m.id DESC LIMIT 1`,
    [phone],
  );
  return rows[0];
}

/**
 * Records an inbound SMS, once per provider id (side effect: one insert; a retried webhook
 * inserts nothing). Returns its id, or null when it was already recorded.
 */
export async function recordInboundMessage(
  q: Queryable,
  m: {
    providerMessageId: string;
    from: string;
    to: string | null;
    body: string;
    kind: InboundKind;
    likelyOptOut: boolean;
    customerId: number | null;
    messageId: number | null;
    receivedAt: Date;
  },
): Promise<number | null> {
  const ins = await q.query<{ id: number }>(
    `INSERT INTO inbound_messages (provider_message_id, from_phone, to_phone, body, kind, likely_opt_out, customer_id, message_id, received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (provider_message_id) DO NOTHING RETURNING id`,
    [m.providerMessageId, m.from, m.to, m.body, m.kind, m.likelyOptOut, m.customerId, m.messageId, m.receivedAt],
  );
  return ins.rowCount ? Number(ins.rows[0]!.id) : null;
}

/** The number an inbound SMS came from, or undefined when there is no inbound SMS `id`. */
export async function inboundSender(q: Queryable, id: number): Promise<string | undefined> {
  const { rows } = await q.query<{ from_phone: string }>('SELECT from_phone FROM inbound_messages WHERE id = $1', [id]);
  return rows[0]?.from_phone;
}

/**
 * Ids of the pending (suggested, approved, needs_review) messages to `phone`, in every
 * campaign, each row locked FOR UPDATE until the transaction ends: the cancel that follows
 * takes them all (a dispatcher's claim skips locked rows, a change of one waits).
 */
export async function lockPendingTo(q: Queryable, phone: string): Promise<number[]> {
  const { rows } = await q.query<{ id: number }>(
    `SELECT id FROM campaign_messages WHERE phone = $1 AND status = ANY($2::text[]) FOR UPDATE`,
    [phone, PENDING_STATUSES],
  );
  return rows.map((x) => Number(x.id));
}

export interface ReviewMessage {
  id: number;
  campaign_id: number;
  batch_id: number | null;
  phone: string;
  body: string;
  status: string;
  attempts: number;
  /** Fences the record: an edit made while the provider was asked changes the text checked. */
  version: number;
  /** The earlier of when it was written (the database's clock) and its last attempt (the app's): no SMS of it is older. */
  since: Date;
  customer_name: string | null;
}

/** Message `id` with what recording it as sent by hand checks (whatever its status), or undefined. */
export async function messageForReview(q: Queryable, id: number): Promise<ReviewMessage | undefined> {
  const { rows } = await q.query<ReviewMessage>(
    `SELECT m.id, m.campaign_id, m.batch_id, m.phone, m.body, m.status, m.attempts, m.version, least(m.created_at, coalesce(m.last_attempt_at, m.created_at)) AS since, cu.name AS customer_name
     FROM campaign_messages m LEFT JOIN customers cu ON cu.id = m.customer_id WHERE m.id = $1`,
    [id],
  );
  return rows[0];
}
