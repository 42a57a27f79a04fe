/**
 * Campaign reports: the approval funnel, delivery, responses and cost, for the whole
 * campaign, per batch and per A/B variant. What every number means (denominators
 * included) is written in RATE_DEFINITIONS and repeated in the README.
 */
import { stringify } from 'csv-stringify/sync';
import type { Queryable } from '../db/database.ts';
import { getCampaign } from '../db/queries/campaigns.ts';
import { SEGMENT_PRICE_USD } from '../domain/smsSegments.ts';
import { AppError } from '../errors.ts';
import { DEFAULT_ATTRIBUTION_WINDOW_DAYS } from './attribution.ts';
import { campaignBatches, campaignMessageFacts, type MessageFacts } from './queries.ts';
import { compareVariants, type VariantComparison } from './experiment.ts';
import { formatDuration, formatPercent, formatUsd } from './format.ts';
import { definedVariantNames } from './variants.ts';

/** Rates are fractions in [0, 1], or null when their denominator is 0. */
export interface FunnelRates {
  approval: number | null;
  edit: number | null;
  delivery: number | null;
  response: number | null;
  optOut: number | null;
}

export interface FunnelStats {
  /** Every message generated (each row starts as a suggestion). */
  suggested: number;
  /** Still waiting for a human decision (status suggested). */
  awaitingApproval: number;
  /** Approved by a human (approved_at recorded and not since rejected or returned to review). */
  approved: number;
  /** Approved messages whose text a human changed. */
  edited: number;
  rejected: number;
  cancelled: number;
  /** Accepted by the SMS provider (sent, delivered, undelivered, or failed after acceptance). */
  sent: number;
  delivered: number;
  undelivered: number;
  /** Every failed message, whether the provider refused it or the carrier failed it later. */
  failed: number;
  /** Sent messages with at least one attributed reply. */
  replied: number;
  /** Attributed replies in total (one customer may text several times). */
  replies: number;
  /** Sent messages answered with STOP (attributed like replies). */
  optedOut: number;
  /** Sent messages whose attribution window is still open: their rates may still rise. */
  windowOpen: number;
  /** SMS segments of the sent messages, and their cost at the list price per segment. */
  segments: number;
  costUsd: number;
  /** Median seconds from suggestion to approval, over approved messages. */
  medianSecondsToApproval: number | null;
  rates: FunnelRates;
}

export interface BatchReport extends FunnelStats {
  batchId: number;
  segmentSpec: string;
  generator: string;
  createdAt: Date;
}

export interface CampaignReport {
  campaign: { id: number; name: string; status: string };
  asOf: Date;
  attributionWindowDays: number;
  totals: FunnelStats;
  batches: BatchReport[];
  /** Present when the campaign brief defines variants: arms in their defined order, the first is the control. */
  experiment: VariantComparison | null;
  /** What each rate divides by (RATE_DEFINITIONS), so JSON consumers need no other docs. */
  rateDefinitions: Record<keyof FunnelRates, string>;
}

/** What each rate divides by. */
export const RATE_DEFINITIONS: Record<keyof FunnelRates, string> = {
  approval: 'approved / (approved + rejected): of the suggestions a human decided on, the share approved',
  edit: 'edited / approved: of the approved messages, the share a human rewrote first',
  delivery: 'delivered / sent: of the messages the provider accepted, the share confirmed delivered',
  response: `replied / sent: of the messages the provider accepted, the share that got a reply within the attribution window (default ${DEFAULT_ATTRIBUTION_WINDOW_DAYS} days; the latest send to a number wins)`,
  optOut: 'opted out / sent: of the messages the provider accepted, the share answered with STOP (same attribution)',
};

/**
 * The report for one campaign as of `opts.now` (default: the current time): inbound
 * texts received later are ignored, and sends younger than the window are counted as
 * still open.
 */
export async function campaignReport(
  q: Queryable,
  campaignId: number,
  opts: { now?: Date; attributionWindowDays?: number } = {},
): Promise<CampaignReport> {
  const campaign = await getCampaign(q, campaignId);
  if (!campaign) throw new AppError('campaign_not_found', `No campaign with id ${campaignId}.`);
  const asOf = opts.now ?? new Date();
  const windowDays = opts.attributionWindowDays ?? DEFAULT_ATTRIBUTION_WINDOW_DAYS;
  // One after another: `q` may be a transaction's single client.
  const facts = await campaignMessageFacts(q, campaignId, { windowDays, asOf });
  const batches = await campaignBatches(q, campaignId);
  const stats = (subset: MessageFacts[]) => funnelStats(subset, { asOf, windowDays });
  // Only the brief's variants are arms: without them, `variant` holds the generator's template id.
  const variantNames = definedVariantNames(campaign.brief);
  return {
    campaign: { id: campaign.id, name: campaign.name, status: campaign.status },
    asOf,
    attributionWindowDays: windowDays,
    totals: stats(facts),
    batches: batches.map((b) => ({
      batchId: b.id,
      segmentSpec: b.segmentSpec,
      generator: b.generator,
      createdAt: b.createdAt,
      ...stats(facts.filter((f) => f.batchId === b.id)),
    })),
    experiment: variantNames ? compareVariants(variantNames.map((variant) => ({ variant, ...stats(facts.filter((f) => f.variant === variant)) }))) : null,
    rateDefinitions: RATE_DEFINITIONS,
  };
}

/** Aggregates message facts into counts and rates (pure). */
export function funnelStats(facts: MessageFacts[], opts: { asOf: Date; windowDays: number }): FunnelStats {
  const windowStart = opts.asOf.getTime() - opts.windowDays * 86_400_000;
  const approved = facts.filter((f) => f.approvedAt !== null && f.status !== 'suggested' && f.status !== 'rejected');
  const sent = facts.filter((f) => f.accepted);
  const count = (pred: (f: MessageFacts) => boolean, from = facts) => from.filter(pred).length;
  const rejected = count((f) => f.status === 'rejected');
  const edited = count((f) => f.editedAt !== null, approved);
  const delivered = count((f) => f.status === 'delivered');
  const replied = count((f) => f.replies > 0, sent);
  const optedOut = count((f) => f.stops > 0, sent);
  const segments = sent.reduce((a, f) => a + f.segments, 0);
  return {
    suggested: facts.length,
    awaitingApproval: count((f) => f.status === 'suggested'),
    approved: approved.length,
    edited,
    rejected,
    cancelled: count((f) => f.status === 'cancelled'),
    sent: sent.length,
    delivered,
    undelivered: count((f) => f.status === 'undelivered'),
    failed: count((f) => f.status === 'failed'),
    replied,
    replies: sent.reduce((a, f) => a + f.replies, 0),
    optedOut,
    windowOpen: count((f) => f.sentAt !== null && f.sentAt.getTime() > windowStart, sent),
    segments,
    costUsd: Math.round(segments * SEGMENT_PRICE_USD * 10_000) / 10_000,
    medianSecondsToApproval: median(approved.map((f) => (f.approvedAt!.getTime() - f.suggestedAt.getTime()) / 1000)),
    rates: {
      approval: ratio(approved.length, approved.length + rejected),
      edit: ratio(edited, approved.length),
      delivery: ratio(delivered, sent.length),
      response: ratio(replied, sent.length),
      optOut: ratio(optedOut, sent.length),
    },
  };
}

function ratio(n: number, d: number): number | null {
  return d === 0 ? null : n / d;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

// ---- presentation ---------------------------------------------------------------

function funnelLines(s: FunnelStats, windowDays: number): string[] {
  const open = s.windowOpen === 1 ? '1 send is still inside its window' : `${s.windowOpen} sends are still inside their window`;
  return [
    `Review: ${s.suggested} suggested · ${s.approved} approved (${formatPercent(s.rates.approval)} of ${s.approved + s.rejected} decided) · ` +
      `${s.edited} edited (${formatPercent(s.rates.edit)} of approved) · ${s.rejected} rejected` +
      (s.awaitingApproval ? ` · ${s.awaitingApproval} awaiting approval` : '') +
      ` · median time to approval ${formatDuration(s.medianSecondsToApproval)}`,
    `Delivery: ${s.sent} sent · ${s.delivered} delivered (${formatPercent(s.rates.delivery)} of sent) · ` +
      `${s.undelivered} undelivered · ${s.failed} failed · ${s.segments} segments · ${formatUsd(s.costUsd)}`,
    `Responses (${windowDays}-day window): ${s.replied} replied (${formatPercent(s.rates.response)} of sent) · ` +
      `${s.optedOut} opted out (${formatPercent(s.rates.optOut)} of sent)` + (s.windowOpen ? ` · ${open}` : ''),
  ];
}

/** The report as plain text (CLI output and the `/campaign report` reply). */
export function formatReport(r: CampaignReport): string {
  const out = [
    `Campaign "${r.campaign.name}" (${r.campaign.status}) as of ${r.asOf.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    ...funnelLines(r.totals, r.attributionWindowDays),
  ];
  if (r.batches.length > 1) {
    for (const b of r.batches) {
      out.push('', `Batch #${b.batchId} (${b.segmentSpec}, ${b.generator}, ${b.createdAt.toISOString().slice(0, 10)})`);
      out.push(...funnelLines(b, r.attributionWindowDays).map((l) => `  ${l}`));
    }
  }
  if (r.experiment) {
    out.push('', `Variants (compared with ${r.experiment.control}):`);
    for (const a of r.experiment.arms) {
      out.push(
        `  ${a.variant}: ${a.sent} sent · replied ${formatPercent(a.rates.response)} (${a.replied}) · ` +
          `opted out ${formatPercent(a.rates.optOut)} (${a.optedOut}) · approved ${formatPercent(a.rates.approval)}`,
      );
    }
    for (const t of r.experiment.tests) out.push(`  ${t.summary}`);
    const w = r.experiment.winner;
    out.push(`  Winner on response rate: ${w.response ?? 'none yet'} · on opt-out rate: ${w.optOut ?? 'none yet'}`);
  }
  return out.join('\n');
}

export const CSV_COLUMNS = [
  'scope', 'key', 'suggested', 'approved', 'edited', 'rejected', 'awaiting_approval', 'cancelled', 'sent', 'delivered',
  'undelivered', 'failed', 'replied', 'replies', 'opted_out', 'window_open', 'segments', 'cost_usd',
  'median_seconds_to_approval', 'approval_rate', 'edit_rate', 'delivery_rate', 'response_rate', 'opt_out_rate',
] as const;

/** One CSV row per scope: the campaign, each batch, each variant. Rates as fractions, empty when undefined. */
export function reportToCsv(r: CampaignReport): string {
  const rate = (x: number | null) => (x === null ? '' : x.toFixed(4));
  const row = (scope: string, key: string, s: FunnelStats) => [
    scope, key, s.suggested, s.approved, s.edited, s.rejected, s.awaitingApproval, s.cancelled, s.sent, s.delivered,
    s.undelivered, s.failed, s.replied, s.replies, s.optedOut, s.windowOpen, s.segments, s.costUsd.toFixed(4),
    s.medianSecondsToApproval === null ? '' : Math.round(s.medianSecondsToApproval),
    rate(s.rates.approval), rate(s.rates.edit), rate(s.rates.delivery), rate(s.rates.response), rate(s.rates.optOut),
  ];
  const rows = [
    row('campaign', r.campaign.name, r.totals),
    ...r.batches.map((b) => row('batch', String(b.batchId), b)),
    ...(r.experiment?.arms ?? []).map((a) => row('variant', a.variant, a)),
  ];
  return stringify([[...CSV_COLUMNS], ...rows]);
}
