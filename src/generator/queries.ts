/**
 * The generator's SQL: the audience of a segment with the reason each customer is left
 * out (if any), and the writes that store a batch. Every value is a bind parameter.
 */
import type { Queryable } from '../db/database.ts';
import type { Surface } from '../db/queries/audit.ts';
import { writeAudit } from '../db/queries/audit.ts';
import type { LintFinding } from '../domain/lintFinding.ts';
import type { AudienceCustomer, ContextItem } from './context.ts';
import type { Criteria } from './segments.ts';
import { SqlParams, compileCriteria } from './segmentSql.ts';

/** Why a matching customer is left out, in the order the rules are checked. */
export const EXCLUSION_REASONS = ['opted_out', 'no_consent', 'already_in_campaign', 'frequency_cap'] as const;
export type ExclusionReason = (typeof EXCLUSION_REASONS)[number];

export interface AudienceOptions {
  /** Reference date (YYYY-MM-DD, campaign time zone) for day counts. */
  today: string;
  /** The campaign, when it exists: its recipients are excluded. */
  campaignId: number | null;
  /** Anyone texted since then (by any campaign) is excluded; null = no frequency cap. */
  capSince: Date | null;
}

function audienceCte(criteria: Criteria, o: AudienceOptions): { sql: string; params: SqlParams } {
  const params = new SqlParams();
  const today = params.add(o.today);
  const campaign = params.add(o.campaignId);
  const since = params.add(o.capSince);
  const where = compileCriteria(criteria, params, today);
  // A message counts against the cap once it went out, or while it may still go (approved,
  // sending, unknown, or back for review: approving it again sends it) in another campaign.
  const sql = `WITH audience AS (
    SELECT c.id, c.name, c.phone, c.state, c.timezone, c.favorite_category, c.visits, c.total_spend,
           c.last_visit_at::text AS last_visit_at, c.first_seen_at::text AS first_seen_at,
           (${today}::date - c.last_visit_at) AS days_since_last_visit,
           (${today}::date - c.first_seen_at) AS days_since_first_seen,
           c.attributes,
           CASE
             WHEN EXISTS (SELECT 1 FROM contact_status cs WHERE cs.phone = c.phone AND cs.status = 'opted_out') THEN 'opted_out'
             WHEN c.consent_status <> 'opted_in' THEN 'no_consent'
             WHEN EXISTS (SELECT 1 FROM campaign_messages m WHERE m.campaign_id = ${campaign}::bigint AND m.phone = c.phone)
               THEN 'already_in_campaign'
             WHEN ${since}::timestamptz IS NOT NULL AND EXISTS (
               SELECT 1 FROM campaign_messages m
               WHERE m.phone = c.phone AND (m.sent_at >= ${since}::timestamptz OR m.status IN ('approved', 'sending', 'unknown', 'needs_review')))
               THEN 'frequency_cap'
           END AS excluded_by
    FROM customers c
    WHERE ${where}
  )`;
  return { sql, params };
}

/** How many customers match, and how many of them each rule leaves out. */
export async function countAudience(
  q: Queryable,
  criteria: Criteria,
  o: AudienceOptions,
): Promise<{ matched: number; eligible: number; exclusions: Record<ExclusionReason, number> }> {
  const { sql, params } = audienceCte(criteria, o);
  const { rows } = await q.query<{ reason: string | null; n: number }>(
    `${sql} SELECT excluded_by AS reason, count(*)::int AS n FROM audience GROUP BY excluded_by`,
    params.values,
  );
  const exclusions = Object.fromEntries(EXCLUSION_REASONS.map((r) => [r, 0])) as Record<ExclusionReason, number>;
  let eligible = 0;
  for (const r of rows) {
    if (r.reason === null) eligible = r.n;
    else exclusions[r.reason as ExclusionReason] = r.n;
  }
  const matched = eligible + Object.values(exclusions).reduce((a, b) => a + b, 0);
  return { matched, eligible, exclusions };
}

/** The customers to message (no exclusion applies), oldest customer first, at most `limit`. */
export async function selectAudience(q: Queryable, criteria: Criteria, o: AudienceOptions, limit?: number): Promise<AudienceCustomer[]> {
  const { sql, params } = audienceCte(criteria, o);
  const lim = params.add(limit ?? null);
  const { rows } = await q.query<AudienceCustomer>(
    `${sql} SELECT id, name, phone, state, timezone, favorite_category, visits, total_spend, last_visit_at, first_seen_at,
                   days_since_last_visit, days_since_first_seen, attributes
            FROM audience WHERE excluded_by IS NULL ORDER BY id LIMIT ${lim}::bigint`,
    params.values,
  );
  return rows;
}

/** Gives a campaign its chat home when it has none yet (side effect: update). */
/** How many messages a campaign has, in any status (its A/B arms are fixed once it has any). */
export async function countCampaignMessages(q: Queryable, campaignId: number): Promise<number> {
  const { rows } = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM campaign_messages WHERE campaign_id = $1', [campaignId]);
  return rows[0]!.n;
}

export async function setCampaignChatHome(q: Queryable, campaignId: number, surface: string, channel: string): Promise<void> {
  await q.query(
    `UPDATE campaigns SET chat_surface = $2, chat_channel = $3, updated_at = now() WHERE id = $1 AND chat_surface IS NULL`,
    [campaignId, surface, channel],
  );
}

/** Replaces a campaign's brief (side effect: update + audit). */
export async function updateCampaignBrief(
  q: Queryable,
  a: { campaignId: number; brief: Record<string, unknown>; before: unknown; actor: string; surface: Surface },
): Promise<void> {
  await q.query('UPDATE campaigns SET brief = $2, updated_at = now() WHERE id = $1', [a.campaignId, JSON.stringify(a.brief)]);
  await writeAudit(q, {
    actor: a.actor,
    surface: a.surface,
    action: 'campaign_brief',
    entityType: 'campaign',
    entityId: a.campaignId,
    before: a.before,
    after: a.brief,
  });
}

/** Creates an empty batch row (side effect: insert); totals follow with finishBatch. */
export async function insertBatch(
  q: Queryable,
  b: { campaignId: number; segmentSpec: string; generator: string; createdBy: string; createdAt: Date },
): Promise<number> {
  const { rows } = await q.query<{ id: number }>(
    `INSERT INTO batches (campaign_id, segment_spec, generator, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [b.campaignId, b.segmentSpec, b.generator, b.createdBy, b.createdAt],
  );
  return rows[0]!.id;
}

export interface NewMessage {
  customerId: number;
  phone: string;
  body: string;
  variant: string;
  suggestedBy: string;
  segments: number;
  encoding: 'GSM-7' | 'UCS-2';
  context: ContextItem[];
  rationale: string;
  lint: LintFinding[];
}

/**
 * Stores suggestions as `suggested` (side effect: insert). A number that got into the
 * campaign meanwhile is skipped (UNIQUE campaign_id, phone), and so is one that opted out
 * while the batch was drafted. Returns the stored phones.
 */
export async function insertSuggestions(
  q: Queryable,
  m: { campaignId: number; batchId: number; campaignType: string; suggestedAt: Date; messages: NewMessage[] },
): Promise<Set<string>> {
  const stored = new Set<string>();
  const CHUNK = 5000;
  for (let i = 0; i < m.messages.length; i += CHUNK) {
    const part = m.messages.slice(i, i + CHUNK);
    const { rows } = await q.query<{ phone: string }>(
      `INSERT INTO campaign_messages (campaign_id, batch_id, customer_id, phone, body, campaign_type, variant, status,
                                      suggested_by, suggested_at, segments, encoding, customer_context, rationale, lint)
       SELECT $1::bigint, $2::bigint, u.customer_id, u.phone, u.body, $3::text, u.variant, 'suggested',
              u.suggested_by, $4::timestamptz, u.segments, u.encoding, u.context, u.rationale, u.lint
       FROM unnest($5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::int[], $11::text[], $12::jsonb[], $13::text[], $14::jsonb[])
            AS u(customer_id, phone, body, variant, suggested_by, segments, encoding, context, rationale, lint)
       -- Drafting takes minutes: a STOP recorded meanwhile found no message to cancel yet.
       WHERE NOT EXISTS (SELECT 1 FROM contact_status cs WHERE cs.phone = u.phone AND cs.status = 'opted_out')
       ON CONFLICT (campaign_id, phone) DO NOTHING
       RETURNING phone`,
      [
        m.campaignId,
        m.batchId,
        m.campaignType,
        m.suggestedAt,
        part.map((x) => x.customerId),
        part.map((x) => x.phone),
        part.map((x) => x.body),
        part.map((x) => x.variant),
        part.map((x) => x.suggestedBy),
        part.map((x) => x.segments),
        part.map((x) => x.encoding),
        part.map((x) => JSON.stringify(x.context)),
        part.map((x) => x.rationale),
        part.map((x) => JSON.stringify(x.lint)),
      ],
    );
    for (const r of rows) stored.add(r.phone);
  }
  return stored;
}

/** Writes a batch's totals (side effect: update). */
export async function finishBatch(
  q: Queryable,
  b: { batchId: number; suggestions: number; lintFindings: number; estimatedCostUsd: number; llmUsage: Record<string, unknown> },
): Promise<void> {
  await q.query(
    `UPDATE batches SET suggestion_count = $2, lint_finding_count = $3, estimated_cost_usd = $4, llm_usage = $5 WHERE id = $1`,
    [b.batchId, b.suggestions, b.lintFindings, b.estimatedCostUsd, JSON.stringify(b.llmUsage)],
  );
}
