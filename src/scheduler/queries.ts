/** The scheduler's SQL: planning reads, claims, outcomes, caps and counts. Every write is commented. */
import { PENDING_STATUSES } from '../domain/messageStatus.ts';
import type { Queryable } from '../db/database.ts';
import type { CampaignRow } from '../db/queries/campaigns.ts';

/** Statuses of messages that hold (or held) a place on a campaign's timeline. */
export const ON_TIMELINE = ['approved', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'unknown'];

export interface PlanningMessage {
  id: number;
  phone: string;
  body: string;
  customer_timezone: string | null;
  customer_state: string | null;
}

export async function lockCampaign(q: Queryable, campaignId: number): Promise<CampaignRow | undefined> {
  const { rows } = await q.query<CampaignRow>('SELECT * FROM campaigns WHERE id = $1 FOR UPDATE', [campaignId]);
  return rows[0];
}

/** Approved messages without a slot (or all approved ones, to re-plan), in timeline order. */
export async function approvedToPlan(q: Queryable, campaignId: number, all: boolean): Promise<PlanningMessage[]> {
  const { rows } = await q.query<PlanningMessage>(
    `SELECT m.id, m.phone, m.body, cu.timezone AS customer_timezone, cu.state AS customer_state
     FROM campaign_messages m LEFT JOIN customers cu ON cu.id = m.customer_id
     WHERE m.campaign_id = $1 AND m.status = 'approved' AND ($2 OR m.scheduled_send_time IS NULL)
     ORDER BY m.scheduled_send_time NULLS LAST, m.id`,
    [campaignId, all],
  );
  return rows;
}

/** The last slot on the timeline (excluding the messages being re-planned). */
export async function lastSlot(q: Queryable, campaignId: number, excludeApproved: boolean): Promise<{ id: number; at: Date } | null> {
  const { rows } = await q.query<{ id: number; at: Date }>(
    `SELECT id, scheduled_send_time AS at FROM campaign_messages
     WHERE campaign_id = $1 AND status = ANY($2::text[]) AND scheduled_send_time IS NOT NULL
       AND NOT ($3 AND status = 'approved')
     ORDER BY scheduled_send_time DESC, id DESC LIMIT 1`,
    [campaignId, ON_TIMELINE, excludeApproved],
  );
  return rows[0] ?? null;
}

/**
 * What the caps count since `since`, sorted: every attempt (whatever became of it, as the
 * dispatcher's cap check counts them) and, unless they are being re-planned, the slots of
 * approved messages (their next attempt; one put back on the timeline has both).
 */
export async function timelineSince(q: Queryable, campaignId: number, since: Date, excludeApproved: boolean): Promise<number[]> {
  const { rows } = await q.query<{ t: Date }>(
    `SELECT last_attempt_at AS t FROM campaign_messages WHERE campaign_id = $1 AND last_attempt_at >= $2
     UNION ALL
     SELECT scheduled_send_time FROM campaign_messages
     WHERE campaign_id = $1 AND status = 'approved' AND NOT $3 AND scheduled_send_time >= $2
     ORDER BY 1`,
    [campaignId, since, excludeApproved],
  );
  return rows.map((r) => r.t.getTime());
}

/**
 * Writes slots (side effect: scheduled_send_time of still-approved messages; not a status
 * change). `skipHeld` leaves rows another transaction holds (a claim taking them, a cancel,
 * an opt-out) as they are instead of waiting behind it while holding the campaign row (every
 * approval, edit and control waits for that row first: see lockCampaignOfMessage).
 * Only a re-plan may skip: its messages already have a slot, which stays.
 */
export async function writeSlots(q: Queryable, slots: { id: number; at: number }[], opts: { skipHeld?: boolean } = {}): Promise<number> {
  if (slots.length === 0) return 0;
  const { rowCount } = await q.query(
    `${opts.skipHeld ? FREE_OF_OTHERS : ''}
     UPDATE campaign_messages m SET scheduled_send_time = v.at, updated_at = now()
     FROM unnest($1::bigint[], $2::timestamptz[]) AS v(id, at)
     WHERE m.id = v.id AND m.status = 'approved' ${opts.skipHeld ? 'AND m.id IN (SELECT id FROM free)' : ''}`,
    [slots.map((s) => s.id), slots.map((s) => new Date(s.at))],
  );
  return rowCount ?? 0;
}

const FREE_OF_OTHERS = `WITH free AS (
  SELECT id FROM campaign_messages WHERE id = ANY($1::bigint[]) AND status = 'approved' FOR UPDATE SKIP LOCKED
)`;

export interface Candidate {
  id: number;
  campaign_id: number;
  batch_id: number | null;
  customer_id: number | null;
  phone: string;
  body: string;
  scheduled_send_time: Date;
  campaign_settings: Record<string, unknown>;
  consent_status: string | null;
  customer_timezone: string | null;
  customer_state: string | null;
  opted_out: boolean;
}

/**
 * Due approved messages of active campaigns, locked for this transaction; rows another
 * dispatcher holds are skipped, so concurrent dispatchers never pick the same message.
 * The active campaigns are read once (an array, not a join) so the plan walks the due
 * index in order and stops after `limit` rows, whatever the statistics say; customers and
 * opt-outs are joined to the locked rows only. A campaign in test mode has only its test
 * numbers' messages due: the others wait for test mode to end without standing in line
 * in front of other campaigns' messages. `skipCampaigns` (found at their cap this round)
 * are left out for the same reason.
 */
export async function lockDueCandidates(q: Queryable, now: Date, limit: number, skipCampaigns: number[] = []): Promise<Candidate[]> {
  const { rows } = await q.query<Candidate>(
    `WITH due AS (
       SELECT m.id, m.campaign_id, m.batch_id, m.customer_id, m.phone, m.body, m.scheduled_send_time
       FROM campaign_messages m
       WHERE m.status = 'approved' AND m.scheduled_send_time <= $1
         AND (m.campaign_id = ANY (ARRAY(SELECT id FROM campaigns WHERE status = 'active' AND NOT test_mode AND id <> ALL ($3::bigint[])))
              OR (m.campaign_id, m.phone) IN (SELECT id, unnest(test_numbers) FROM campaigns
                                              WHERE status = 'active' AND test_mode AND id <> ALL ($3::bigint[])))
       ORDER BY m.scheduled_send_time, m.id
       LIMIT $2
       FOR UPDATE OF m SKIP LOCKED
     )
     SELECT due.*, c.settings AS campaign_settings,
            cu.consent_status, cu.timezone AS customer_timezone, cu.state AS customer_state,
            coalesce(cs.status = 'opted_out', false) AS opted_out
     FROM due
     JOIN campaigns c ON c.id = due.campaign_id
     LEFT JOIN customers cu ON cu.id = due.customer_id
     LEFT JOIN contact_status cs ON cs.phone = due.phone
     ORDER BY due.scheduled_send_time, due.id`,
    [now, limit, skipCampaigns],
  );
  return rows;
}

/** Advisory-lock namespace of a campaign's send caps (the two-key form; the migration lock uses the one-key form). */
export const CAPS_LOCK = 0x534d53;

/**
 * Serialises claims per campaign until the transaction ends: a claim counts the campaign's
 * recent attempts and then adds to them, so two claims at once (two processes, or two
 * pipelined rounds) must not both count the same room. Locked in id order (no deadlock).
 */
export async function lockCampaignCaps(q: Queryable, campaignIds: number[]): Promise<void> {
  if (campaignIds.length === 0) return;
  // The two-key form takes int4 keys: ids past 2^31 share a key with another campaign (they only take turns too).
  await q.query(
    `SELECT pg_advisory_xact_lock(${CAPS_LOCK}, k) FROM (SELECT DISTINCT (id % 2147483647)::int AS k FROM unnest($1::bigint[]) AS id) keys ORDER BY k`,
    [campaignIds],
  );
}

/**
 * Attempts per campaign in the last minute, hour and since the start of its local day, in
 * one scan of the campaign's most recent attempts that stops after `limit` rows (the
 * largest cap): every window ends now, so the newest `limit` attempts hold min(n, limit)
 * of each window, which is all a cap needs to know (at the cap, there is no room).
 * Attempts stamped up to a minute ahead count too: another process's clock may run a little
 * ahead of this one's (further ahead is a clock jump, which must not hold sends for long).
 * A claim still `sending` counts in every window whatever its stamp: it may be about to go
 * (a batch waits for the one before it), and is stamped with its send when recorded.
 */
export async function recentAttempts(
  q: Queryable,
  now: Date,
  campaigns: { id: number; dayStart: Date; limit: number }[],
): Promise<Map<number, { minute: number; hour: number; day: number }>> {
  if (campaigns.length === 0) return new Map();
  const { rows } = await q.query<{ id: number; minute: number; hour: number; day: number }>(
    `SELECT v.id, n.minute + w.minute AS minute, n.hour + w.hour AS hour, n.day + w.day AS day
     FROM unnest($2::bigint[], $3::timestamptz[], $4::int[]) AS v(id, day_start, lim)
     CROSS JOIN LATERAL (
       SELECT count(*) FILTER (WHERE r.t > $1::timestamptz - interval '1 minute')::int AS minute,
              count(*) FILTER (WHERE r.t > $1::timestamptz - interval '1 hour')::int AS hour,
              count(*) FILTER (WHERE r.t >= v.day_start)::int AS day
       FROM (SELECT m.last_attempt_at AS t FROM campaign_messages m
             WHERE m.campaign_id = v.id AND m.last_attempt_at <= $1::timestamptz + interval '1 minute'
               AND m.last_attempt_at >= least(v.day_start, $1::timestamptz - interval '1 hour')
             ORDER BY m.last_attempt_at DESC LIMIT v.lim) r
     ) n
     -- Claims in flight stamped before a window (counted there above if stamped inside it).
     CROSS JOIN LATERAL (
       SELECT count(*) FILTER (WHERE s.last_attempt_at <= $1::timestamptz - interval '1 minute')::int AS minute,
              count(*) FILTER (WHERE s.last_attempt_at <= $1::timestamptz - interval '1 hour')::int AS hour,
              count(*) FILTER (WHERE s.last_attempt_at < v.day_start)::int AS day
       FROM campaign_messages s WHERE s.campaign_id = v.id AND s.status = 'sending'
     ) w`,
    [now, campaigns.map((c) => c.id), campaigns.map((c) => c.dayStart), campaigns.map((c) => c.limit)],
  );
  return new Map(rows.map((r) => [Number(r.id), r]));
}

/**
 * Which of these campaigns are cancelled, each row locked FOR SHARE until the transaction
 * ends: a cancel in progress is waited for, and one that starts after must wait for this
 * transaction (so it sees what this one puts back on the timeline, and cancels it).
 */
export async function cancelledCampaigns(q: Queryable, campaignIds: number[]): Promise<Set<number>> {
  if (campaignIds.length === 0) return new Set();
  const { rows } = await q.query<{ id: number; status: string }>(
    'SELECT id, status FROM campaigns WHERE id = ANY($1::bigint[]) ORDER BY id FOR SHARE',
    [[...new Set(campaignIds)]],
  );
  return new Set(rows.filter((r) => r.status === 'cancelled').map((r) => Number(r.id)));
}

/** Messages whose sender may have died: `sending` with an attempt older than the lease. */
export async function expiredSends(q: Queryable, before: Date, limit: number): Promise<{ id: number; attempts: number }[]> {
  const { rows } = await q.query<{ id: number; attempts: number }>(
    `SELECT id, attempts FROM campaign_messages WHERE status = 'sending' AND last_attempt_at < $1
     ORDER BY last_attempt_at LIMIT $2`,
    [before, limit],
  );
  return rows;
}

export interface UnknownMessage {
  id: number;
  campaign_id: number;
  batch_id: number | null;
  phone: string;
  body: string;
  attempts: number;
  last_attempt_at: Date;
}

/** `unknown` messages whose attempt is old enough for the provider's list to show it. */
export async function unknownToReconcile(q: Queryable, before: Date, limit: number): Promise<UnknownMessage[]> {
  const { rows } = await q.query<UnknownMessage>(
    `SELECT id, campaign_id, batch_id, phone, body, attempts, last_attempt_at FROM campaign_messages
     WHERE status = 'unknown' AND last_attempt_at < $1 ORDER BY last_attempt_at LIMIT $2`,
    [before, limit],
  );
  return rows;
}

/**
 * What reconciling a message to `phone` must know of the number's other messages, in one
 * index look-up: the provider ids already attributed, with the message holding each (never
 * claimed twice; the provider's list is per recipient, so only this number's messages can hold them), and the messages
 * whose outcome is open (`sending`, `unknown`): an SMS of the same text may be theirs.
 */
export async function reconcilingTo(
  q: Queryable,
  phone: string,
  exceptId: number,
): Promise<{ known: Map<string, number>; open: { id: number; status: 'sending' | 'unknown'; body: string; batchId: number | null }[] }> {
  const { rows } = await q.query<{ id: number; status: string; body: string; batch_id: number | null; pids: string[] }>(
    `SELECT id, status, body, batch_id,
            CASE WHEN provider_message_id IS NULL THEN '{}' ELSE array_prepend(provider_message_id, extra_provider_ids) END AS pids
     FROM campaign_messages WHERE phone = $1 AND (provider_message_id IS NOT NULL OR status IN ('sending', 'unknown'))`,
    [phone],
  );
  return {
    known: new Map(rows.flatMap((r) => r.pids.map((pid) => [pid, Number(r.id)] as const))),
    open: rows
      .filter((r) => Number(r.id) !== exceptId && (r.status === 'sending' || r.status === 'unknown'))
      .map((r) => ({ id: Number(r.id), status: r.status as 'sending' | 'unknown', body: r.body, batchId: r.batch_id === null ? null : Number(r.batch_id) })),
  };
}

/** How many claims of a message reached no provider (audited with one of `actions`). */
export async function claimsWithoutCall(q: Queryable, messageId: number, actions: readonly string[]): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM audit_log WHERE entity_type = 'message' AND entity_id = $1 AND action = ANY($2::text[])`,
    [String(messageId), actions],
  );
  return rows[0]!.n;
}

/** Failures among the campaign's last `window` finished sends attempted since `since` (the error budget). */
export async function recentFailures(q: Queryable, campaignId: number, window: number, since: Date | null): Promise<{ failures: number; total: number }> {
  const { rows } = await q.query<{ failures: number; total: number }>(
    `SELECT count(*) FILTER (WHERE status IN ('failed', 'undelivered'))::int AS failures, count(*)::int AS total
     FROM (SELECT status FROM campaign_messages
           WHERE campaign_id = $1 AND last_attempt_at IS NOT NULL AND status IN ('sent', 'delivered', 'undelivered', 'failed')
             AND ($3::timestamptz IS NULL OR last_attempt_at >= $3)
           ORDER BY last_attempt_at DESC LIMIT $2) s`,
    [campaignId, window, since],
  );
  return rows[0]!;
}

/** The batch most recently sent from in a campaign (where its alerts go). */
export async function latestBatchOf(q: Queryable, campaignId: number): Promise<number | null> {
  const { rows } = await q.query<{ batch_id: number }>(
    `SELECT batch_id FROM campaign_messages WHERE campaign_id = $1 AND batch_id IS NOT NULL
     ORDER BY last_attempt_at DESC NULLS LAST, batch_id DESC LIMIT 1`,
    [campaignId],
  );
  return rows[0]?.batch_id ?? null;
}

/** The earliest slot among due-able messages of active campaigns (for the dispatcher's timer). */
export async function nextDueAt(q: Queryable): Promise<Date | null> {
  const { rows } = await q.query<{ at: Date | null }>(
    `SELECT min(m.scheduled_send_time) AS at FROM campaign_messages m
     JOIN campaigns c ON c.id = m.campaign_id AND c.status = 'active' WHERE m.status = 'approved'`,
  );
  return rows[0]?.at ?? null;
}

/** Pending message ids of a campaign (for cancel). */
export async function pendingIdsOfCampaign(q: Queryable, campaignId: number): Promise<number[]> {
  const { rows } = await q.query<{ id: number }>(
    `SELECT id FROM campaign_messages WHERE campaign_id = $1 AND status = ANY($2::text[]) ORDER BY id`,
    [campaignId, PENDING_STATUSES],
  );
  return rows.map((r) => Number(r.id));
}

export interface SummaryCampaign {
  id: number;
  name: string;
  status: string;
  chat_surface: string;
  chat_channel: string;
}

/**
 * Campaigns the daily summary reports on, by channel: active or paused ones, those with
 * messages waiting for a person (to approve, in review), and any other with activity since `since` (an attempt, a delivery or an inbound reply, stamped on the
 * app's clock, so a demo's fast clock finds them too) or a message changed since then on
 * the database's clock (a cancel, which stamps nothing else).
 */
export async function summaryCampaigns(q: Queryable, since: Date): Promise<SummaryCampaign[]> {
  const { rows } = await q.query<SummaryCampaign>(
    `SELECT c.id, c.name, c.status, c.chat_surface, c.chat_channel FROM campaigns c
     WHERE c.chat_surface IS NOT NULL AND c.chat_channel IS NOT NULL
       AND (c.status IN ('active', 'paused')
            -- Messages waiting for a person, however long nothing else happened (a forgotten batch).
            OR EXISTS (SELECT 1 FROM campaign_messages m WHERE m.campaign_id = c.id AND m.status IN ('suggested', 'needs_review'))
            OR EXISTS (SELECT 1 FROM campaign_messages m WHERE m.campaign_id = c.id
                         AND (m.updated_at >= $1 OR m.last_attempt_at >= $1 OR m.sent_at >= $1 OR m.delivered_at >= $1))
            OR EXISTS (SELECT 1 FROM inbound_messages i JOIN campaign_messages m ON m.id = i.message_id
                       WHERE m.campaign_id = c.id AND i.received_at >= $1))
     ORDER BY c.chat_surface, c.chat_channel, c.name`,
    [since],
  );
  return rows;
}

export interface SendConditions {
  /** Of the numbers asked about, those opted out. */
  optedOut: Set<string>;
  /** The campaigns asked about, by id: whether they may send, and to whom in test mode. */
  campaigns: Map<number, { status: string; testMode: boolean; testNumbers: string[] }>;
}

/** Opt-outs and campaign states as of now, in one round trip: the look right before provider calls. */
export async function sendConditions(q: Queryable, phones: string[], campaignIds: number[]): Promise<SendConditions> {
  const { rows } = await q.query<{ opted_out: string[]; campaigns: { id: number; status: string; test_mode: boolean; test_numbers: string[] }[] }>(
    `SELECT (SELECT coalesce(array_agg(phone), '{}') FROM contact_status WHERE phone = ANY($1::text[]) AND status = 'opted_out') AS opted_out,
            (SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'status', status, 'test_mode', test_mode, 'test_numbers', test_numbers)), '[]')
             FROM campaigns WHERE id = ANY($2::bigint[])) AS campaigns`,
    [phones, campaignIds],
  );
  const r = rows[0]!;
  return {
    optedOut: new Set(r.opted_out),
    campaigns: new Map(r.campaigns.map((c) => [Number(c.id), { status: c.status, testMode: c.test_mode, testNumbers: c.test_numbers ?? [] }])),
  };
}

/** The message a test send of the campaign texts (an approved one first, else any not rejected; lowest id), if any. */
export async function messageToTest(q: Queryable, campaignId: number): Promise<{ body: string; batch_id: number | null } | undefined> {
  const { rows } = await q.query<{ body: string; batch_id: number | null }>(
    `SELECT body, batch_id FROM campaign_messages WHERE campaign_id = $1 AND status <> 'rejected'
       ORDER BY (status = 'approved') DESC, id LIMIT 1`,
    [campaignId],
  );
  return rows[0];
}

export interface PreviewMessage {
  id: number;
  status: string;
  scheduled_send_time: Date | null;
  segments: number;
  phone: string;
  body: string;
  name: string | null;
  customer_timezone: string | null;
  customer_state: string | null;
}

/** The campaign's approved and suggested messages with their customer, by slot (unplanned last), approved first, then id. */
export async function previewMessages(q: Queryable, campaignId: number): Promise<PreviewMessage[]> {
  const { rows } = await q.query<PreviewMessage>(
    `SELECT m.id, m.status, m.scheduled_send_time, m.segments, m.phone, m.body, cu.name,
            cu.timezone AS customer_timezone, cu.state AS customer_state
     FROM campaign_messages m LEFT JOIN customers cu ON cu.id = m.customer_id
     WHERE m.campaign_id = $1 AND m.status IN ('approved', 'suggested')
     ORDER BY m.scheduled_send_time NULLS LAST, (m.status = 'approved') DESC, m.id`,
    [campaignId],
  );
  return rows;
}

/** The campaign of a batch (what its progress message shows), or undefined when there is no batch `batchId`. */
export async function campaignOfBatch(
  q: Queryable,
  batchId: number,
): Promise<{ name: string; status: string; settings: unknown; paused_reason: string | null } | undefined> {
  const { rows } = await q.query<{ name: string; status: string; settings: unknown; paused_reason: string | null }>(
    `SELECT c.name, c.status, c.settings, c.paused_reason FROM batches b JOIN campaigns c ON c.id = b.campaign_id WHERE b.id = $1`,
    [batchId],
  );
  return rows[0];
}

/** Those of `ids` that are in a batch, with their batch, their campaign's chat surface and their card refs. */
export async function cardRefsOf(
  q: Queryable,
  ids: number[],
): Promise<{ id: number; batch_id: number | null; chat_surface: string | null; card_refs: Record<string, unknown> }[]> {
  const { rows } = await q.query<{ id: number; batch_id: number | null; chat_surface: string | null; card_refs: Record<string, unknown> }>(
    `SELECT m.id, m.batch_id, c.chat_surface, m.card_refs FROM campaign_messages m JOIN campaigns c ON c.id = m.campaign_id
     WHERE m.id = ANY($1::bigint[]) AND m.batch_id IS NOT NULL`,
    [ids],
  );
  return rows;
}

/** The batches among `batchIds` that exist, with their campaign's chat surface (null: none). */
export async function batchSurfaces(q: Queryable, batchIds: number[]): Promise<{ id: number; chat_surface: string | null }[]> {
  const { rows } = await q.query<{ id: number; chat_surface: string | null }>(
    `SELECT b.id, c.chat_surface FROM batches b JOIN campaigns c ON c.id = b.campaign_id WHERE b.id = ANY($1::bigint[])`,
    [batchIds],
  );
  return rows;
}
