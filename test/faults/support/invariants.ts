/**
 * The one invariant checker of the fault suite. It compares what the database says with
 * what the provider really received (the Twilio peer's accepted messages, or the local
 * outbox table) and returns every violation of the product's promises:
 *   - nothing sent twice (more provider sends than bubbles for one message),
 *   - nothing lost (an approved message stuck, or recorded as sent with no provider send,
 *     or sent at the provider but not recorded),
 *   - nothing sent without a recorded approval (or after it was cancelled/rejected),
 *   - nothing sent to a number that had opted out, or outside the recipient's quiet hours,
 *   - no cap broken in any minute / hour / local day of a campaign.
 * Every fault case ends with `expectNoViolations(await checkInvariants(...))`.
 */
import { expect } from 'vitest';
import { effectiveSettings, type CampaignSettings } from '../../../src/campaigns/settings.ts';
import type { Config } from '../../../src/config.ts';
import type { Queryable } from '../../../src/db/database.ts';
import { dayBoundaries, windowSchedule } from '../../../src/scheduler/plan.ts';
import { windowsFor } from '../../../src/scheduler/recipients.ts';
import { splitBubbles } from '../../../src/sms/bubbles.ts';
import type { PeerMessage } from '../../peers/twilio.ts';

/** One SMS the provider accepted. */
export interface ProviderSend {
  sid: string;
  to: string;
  body: string;
  at: Date;
}

export interface InvariantOptions {
  config: Config;
  /** What the provider received. */
  sends: ProviderSend[];
  /** Every approved message must have reached a final state (default true). */
  settled?: boolean;
  /** Only look at these campaigns (default: all). */
  campaignIds?: number[];
  /** Check the caps against provider send times (default true). */
  caps?: boolean;
  /** Check recipient quiet hours and business hours against provider send times (default true). */
  windows?: boolean;
}

export interface InvariantReport {
  /** Messages examined (every message in scope, approved or not). */
  checked: number;
  /** Provider sends attributed to them. */
  providerSends: number;
  lost: number;
  sentTwice: number;
  violations: string[];
}

/** The Twilio peer's accepted messages as provider sends: the texts it received, whatever it kept. */
export function peerSends(messages: readonly PeerMessage[]): ProviderSend[] {
  return messages.map((m) => ({ sid: m.sid, to: m.to, body: m.submitted, at: m.dateCreated }));
}

/** The local outbox provider's table as provider sends. */
export async function outboxSends(q: Queryable): Promise<ProviderSend[]> {
  const { rows } = await q.query<{ provider_message_id: string; to_phone: string; body: string; created_at: Date }>(
    'SELECT provider_message_id, to_phone, body, created_at FROM sms_outbox ORDER BY id',
  );
  return rows.map((r) => ({ sid: r.provider_message_id, to: r.to_phone, body: r.body, at: r.created_at }));
}

interface Row {
  id: number;
  campaign_id: number;
  phone: string;
  body: string;
  status: string;
  approved_at: Date | null;
  approved_by: string | null;
  provider_message_id: string | null;
  extra_provider_ids: string[];
  customer_timezone: string | null;
  customer_state: string | null;
  settings: Record<string, unknown>;
}

const FINAL = new Set(['sent', 'delivered', 'undelivered', 'failed', 'cancelled', 'needs_review', 'rejected']);
const SENT = new Set(['sent', 'delivered', 'undelivered']);
const PENDING = new Set(['approved', 'sending', 'unknown']);

export async function checkInvariants(q: Queryable, o: InvariantOptions): Promise<InvariantReport> {
  const settled = o.settled ?? true;
  const { rows } = await q.query<Row>(
    `SELECT m.id, m.campaign_id, m.phone, m.body, m.status, m.approved_at, m.approved_by, m.provider_message_id,
            m.extra_provider_ids, cu.timezone AS customer_timezone, cu.state AS customer_state, c.settings
     FROM campaign_messages m JOIN campaigns c ON c.id = m.campaign_id LEFT JOIN customers cu ON cu.id = m.customer_id
     WHERE ($1::bigint[] IS NULL OR m.campaign_id = ANY($1::bigint[]))
     ORDER BY m.id`,
    [o.campaignIds ?? null],
  );
  const optOuts = new Map(
    (await q.query<{ phone: string; updated_at: Date }>(`SELECT phone, updated_at FROM contact_status WHERE status = 'opted_out'`)).rows.map(
      (r) => [r.phone, r.updated_at.getTime()],
    ),
  );
  const bySid = new Map(o.sends.map((s) => [s.sid, s]));
  const byRecipient = new Map<string, ProviderSend[]>();
  for (const s of o.sends) byRecipient.set(s.to, [...(byRecipient.get(s.to) ?? []), s]);

  const violations: string[] = [];
  let lost = 0;
  let sentTwice = 0;
  let checked = 0;
  let providerSends = 0;
  const settingsCache = new Map<number, CampaignSettings>();
  const sendsByCampaign = new Map<number, number[]>();

  for (const m of rows) {
    const bubbles = splitBubbles(m.body);
    // The provider sends that carry this message's text to its number.
    const mine = (byRecipient.get(m.phone) ?? []).filter((s) => bubbles.includes(s.body.trim()) || s.body === m.body);
    // Every message is checked: one never approved must never have reached the provider.
    checked++;
    providerSends += mine.length;
    const tag = `message ${m.id} (${m.status})`;

    if (mine.length > bubbles.length) {
      sentTwice++;
      violations.push(`${tag}: sent ${mine.length} times for ${bubbles.length} bubble(s)`);
    }
    if (mine.length && (m.approved_at === null || m.approved_by === null)) violations.push(`${tag}: sent without a recorded approval`);
    if (mine.length && m.approved_at && mine.some((s) => s.at.getTime() < m.approved_at!.getTime() - 1000)) {
      violations.push(`${tag}: sent before it was approved`);
    }
    if (mine.length && ['cancelled', 'rejected', 'suggested', 'needs_review', 'approved'].includes(m.status)) {
      lost++;
      violations.push(`${tag}: the provider has ${mine.length} send(s) but the database says ${m.status}`);
    }
    if (SENT.has(m.status)) {
      const ids = [m.provider_message_id, ...m.extra_provider_ids].filter((x): x is string => !!x);
      const missing = ids.filter((id) => !bySid.has(id));
      if (missing.length) {
        lost++;
        violations.push(`${tag}: recorded as sent with provider id(s) ${missing.join(', ')} the provider never accepted`);
      }
      for (const id of ids) {
        const s = bySid.get(id);
        if (s && s.to !== m.phone) violations.push(`${tag}: provider id ${id} belongs to another number`);
      }
    }
    if (settled && (PENDING.has(m.status) || !FINAL.has(m.status))) {
      lost++;
      violations.push(`${tag}: not settled (still ${m.status})`);
    }

    const optedOutAt = optOuts.get(m.phone);
    for (const s of mine) {
      if (optedOutAt !== undefined && s.at.getTime() > optedOutAt + 1000) violations.push(`${tag}: sent to ${m.phone} after it opted out`);
    }
    if (mine.length) {
      let settings = settingsCache.get(m.campaign_id);
      if (!settings) settingsCache.set(m.campaign_id, (settings = effectiveSettings(o.config, m.settings)));
      if (o.windows ?? true) {
        const business = windowSchedule(settings.timezone, settings.businessHours, settings.businessDays);
        const recipient = await windowsFor(m, settings);
        for (const s of mine) {
          const t = s.at.getTime();
          if (!business.contains(t)) violations.push(`${tag}: sent at ${s.at.toISOString()}, outside business hours`);
          for (const r of recipient) {
            if (!windowSchedule(r.zone, r.window).contains(t)) violations.push(`${tag}: sent at ${s.at.toISOString()}, in the recipient's quiet hours (${r.zone})`);
          }
        }
      }
      const list = sendsByCampaign.get(m.campaign_id) ?? [];
      // Caps count messages, not bubbles: the first bubble's time stands for the message.
      list.push(Math.min(...mine.map((s) => s.at.getTime())));
      sendsByCampaign.set(m.campaign_id, list);
    }
  }

  if (o.caps ?? true) {
    for (const [campaignId, times] of sendsByCampaign) {
      const s = settingsCache.get(campaignId)!;
      times.sort((a, b) => a - b);
      const over = (span: number, cap: number) => {
        let lo = 0;
        for (let hi = 0; hi < times.length; hi++) {
          while (times[hi]! - times[lo]! >= span) lo++;
          if (hi - lo + 1 > cap) return times[lo]!;
        }
        return null;
      };
      const minute = over(60_000, s.ratePerMinute);
      if (minute !== null) violations.push(`campaign ${campaignId}: more than ${s.ratePerMinute} sends in the minute from ${new Date(minute).toISOString()}`);
      const hour = over(3_600_000, s.ratePerHour);
      if (hour !== null) violations.push(`campaign ${campaignId}: more than ${s.ratePerHour} sends in the hour from ${new Date(hour).toISOString()}`);
      const days = new Map<number, number>();
      const bounds = dayBoundaries(s.timezone);
      for (const t of times) days.set(bounds.dayStart(t), (days.get(bounds.dayStart(t)) ?? 0) + 1);
      for (const [day, n] of days) {
        if (n > s.ratePerDay) violations.push(`campaign ${campaignId}: ${n} sends on the local day starting ${new Date(day).toISOString()} (cap ${s.ratePerDay})`);
      }
    }
  }
  return { checked, providerSends, lost, sentTwice, violations };
}

/** The assertion every fault case ends with: something was checked, and nothing broke. */
export function expectNoViolations(r: InvariantReport, minChecked = 1): void {
  expect(r.violations.slice(0, 20)).toEqual([]);
  expect(r.checked).toBeGreaterThanOrEqual(Math.max(1, minChecked));
  recordFigures(r);
}

/** Running totals for the suite's summary line (printed per file by the cases). */
export const figures = { checked: 0, providerSends: 0, lost: 0, sentTwice: 0 };
function recordFigures(r: InvariantReport): void {
  figures.checked += r.checked;
  figures.providerSends += r.providerSends;
  figures.lost += r.lost;
  figures.sentTwice += r.sentTwice;
}
