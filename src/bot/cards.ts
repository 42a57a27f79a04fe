/**
 * The platform-agnostic card models, built from current database state: what a card
 * shows (customer, masked phone, text, why, lint, state) and which actions it offers.
 * Every surface renders these; none reads the tables itself.
 */
import { DateTime } from 'luxon';
import { effectiveSettings } from '../campaigns/settings.ts';
import { formatDays, formatTimeWindow } from '../config.ts';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/database.ts';
import { getBatchCardRows, getBatchRow, getCardRow, type CardRow } from '../db/queries/cardRows.ts';
import type { MessageStatus } from '../domain/messageStatus.ts';
import { maskPhone } from '../domain/phone.ts';
import { estimateCostUsd } from '../domain/smsSegments.ts';
import { AppError } from '../errors.ts';
import type { BatchAction, BatchHeaderModel, CardAction, CardModel } from './chatSurface.ts';

/** Statuses in which a card still offers a decision, and which actions each offers. */
const ACTIONS: Partial<Record<MessageStatus, CardAction[]>> = {
  suggested: ['approve', 'edit', 'reject'],
  needs_review: ['approve', 'edit', 'reject'],
  approved: ['edit'],
};

/** The card of one message. Throws AppError('not_found') for an unknown id. */
export async function loadCard(q: Queryable, ctx: AppContext, messageId: number): Promise<CardModel> {
  const row = await getCardRow(q, messageId);
  if (!row) throw new AppError('not_found', `Message ${messageId} does not exist.`);
  return cardFromRow(ctx, row);
}

/** Every card of a batch, in id order (the order they are posted in). */
export async function loadBatchCards(q: Queryable, ctx: AppContext, batchId: number): Promise<CardModel[]> {
  return (await getBatchCardRows(q, batchId)).map((r) => cardFromRow(ctx, r));
}

/** The batch's parent message. Throws AppError('not_found') for an unknown id. */
export async function loadBatchHeader(q: Queryable, ctx: AppContext, batchId: number): Promise<BatchHeaderModel> {
  const b = await getBatchRow(q, batchId);
  if (!b) throw new AppError('not_found', `Batch ${batchId} does not exist.`);
  const s = effectiveSettings(ctx.config, b.campaign_settings);
  const counts = (b.counts ?? {}) as Partial<Record<MessageStatus, number>>;
  const pending = (counts.suggested ?? 0) + (counts.needs_review ?? 0);
  const actions: BatchAction[] = pending > 0 ? ['approve_all', 'reject_all'] : [];
  return {
    batchId: b.id,
    campaignName: b.campaign_name,
    channel: b.chat_channel ?? '',
    segmentSpec: b.segment_spec,
    generator: b.generator,
    suggestionCount: b.suggestion_count,
    lintFindingCount: b.lint_finding_count,
    estimatedCostUsd: Number(b.estimated_cost_usd),
    counts,
    sendingWindow: `${formatDays(s.businessDays)} ${formatTimeWindow(s.businessHours)} ${s.timezone}`,
    editsThrough: b.edits_through ?? '0',
    actions,
  };
}

export function cardFromRow(ctx: AppContext, row: CardRow): CardModel {
  const settings = effectiveSettings(ctx.config, row.campaign_settings);
  const when = (d: Date | null) => (d ? DateTime.fromJSDate(d).setZone(settings.timezone).toFormat('ccc L/d h:mm a') : '');
  return {
    messageId: Number(row.id),
    version: row.version,
    campaignName: row.campaign_name,
    customerName: row.customer_name?.trim() || 'Unknown customer',
    maskedPhone: maskPhone(row.phone),
    body: row.body,
    status: row.status,
    segments: row.segments,
    encoding: row.encoding,
    estimatedCostUsd: estimateCostUsd(row.segments),
    context: contextFacts(row.customer_context),
    rationale: row.rationale,
    lint: Array.isArray(row.lint) ? row.lint : [],
    statusLine: statusLine(row, when),
    statusHint: statusHint(row),
    actions: ACTIONS[row.status] ?? [],
  };
}

function statusLine(r: CardRow, when: (d: Date | null) => string): string | null {
  const edited = r.edited_by ? ` · edited by ${r.edited_by}` : '';
  switch (r.status) {
    case 'suggested':
      return r.edited_by ? `Edited by ${r.edited_by}` : null;
    case 'approved':
      return `Approved by ${r.approved_by}${r.scheduled_send_time ? ` · sends ${when(r.scheduled_send_time)}` : ' · waiting for a send slot'}${edited}`;
    case 'rejected':
      return `Rejected by ${r.rejected_by ?? 'someone'}${edited}`;
    case 'sending':
      return `Sending now (approved by ${r.approved_by})`;
    case 'sent':
      return `Sent ${when(r.sent_at)} (approved by ${r.approved_by})`;
    case 'delivered':
      return `Delivered ${when(r.delivered_at ?? r.sent_at)} (approved by ${r.approved_by})`;
    case 'undelivered':
    case 'failed':
      return `${r.status === 'failed' ? 'Failed' : 'Undelivered'}${r.last_error ? `: ${r.last_error}` : ''}`;
    case 'unknown':
      return 'Send outcome unknown: being reconciled with the provider';
    case 'cancelled':
      return `Cancelled${r.cancelled_reason ? `: ${r.cancelled_reason}` : ''}`;
    case 'needs_review':
      // Why it came back is what the person deciding must read (e.g. "the provider shows an
      // SMS with this text ... check the provider's log before approving any of them again").
      return `Needs review: ${r.last_error?.trim() || 'its send slot passed'}${r.approved_by ? ` (approved by ${r.approved_by})` : ''}`;
  }
}

/** After an attempt, a message in review may have gone: the person who finds its SMS in the provider's log can say so. */
function statusHint(r: CardRow): string | null {
  return r.status === 'needs_review' && r.attempts > 0 ? `If the provider's log shows it went: /campaign sent ${r.id} SMSID` : null;
}

/** The customer facts the generator stored, as label/value pairs in display order. */
export function contextFacts(raw: unknown): { label: string; value: string }[] {
  if (Array.isArray(raw)) {
    return raw
      .filter((f): f is { label: unknown; value: unknown } => !!f && typeof f === 'object' && 'label' in f && 'value' in f)
      .map((f) => ({ label: String(f.label), value: String(f.value) }));
  }
  if (!raw || typeof raw !== 'object') return [];
  const facts = (raw as { facts?: unknown }).facts;
  if (Array.isArray(facts)) return contextFacts(facts);
  return Object.entries(raw as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => ({ label: humanize(k), value: typeof v === 'object' ? JSON.stringify(v) : String(v) }));
}

function humanize(key: string): string {
  const words = key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/_/g, ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
