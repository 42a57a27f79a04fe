/** Recipient windows for a set of messages (quiet hours + state law in the recipient's zones). */
import type { CampaignSettings } from '../campaigns/settings.ts';
import { geoKey, locateRecipient, recipientWindows, type RecipientWindow } from '../domain/quietHours.ts';
import { earliestFit, openThrough, type WindowSchedule } from '../domain/timeWindows.ts';
import { splitBubbles } from '../sms/bubbles.ts';
import { windowSchedule, type PlanItem } from './plan.ts';

export interface RecipientRef {
  phone: string;
  customer_timezone: string | null;
  customer_state: string | null;
}

export async function windowsFor(m: RecipientRef, settings: CampaignSettings): Promise<RecipientWindow[]> {
  const place = await locateRecipient(m.phone, { timezone: m.customer_timezone, state: m.customer_state }, settings.timezone);
  return recipientWindows(place.zones, place.state, settings.recipientQuietHours);
}

/**
 * Recipient windows by place: computed once per distinct (number prefix, customer zone and
 * state, campaign zone, quiet hours), so a claim or a plan of thousands of messages does a
 * handful of look-ups, then synchronous map reads. Everything that decides the windows is
 * in the key, so entries never go stale.
 */
export class RecipientWindows {
  private readonly byPlace = new Map<string, readonly RecipientWindow[]>();

  /** Looks up every place among `refs` not known yet (geo data is read asynchronously). */
  async prepare(refs: Iterable<{ m: RecipientRef; settings: CampaignSettings }>): Promise<void> {
    // Places are bounded (exchanges x customer zones and states): the guard keeps a long-lived cache small.
    if (this.byPlace.size > 50_000) this.byPlace.clear();
    const missing = new Map<string, Promise<RecipientWindow[]>>();
    for (const { m, settings } of refs) {
      const key = placeKey(m, settings);
      if (!this.byPlace.has(key) && !missing.has(key)) missing.set(key, windowsFor(m, settings));
    }
    for (const [key, windows] of missing) this.byPlace.set(key, await windows);
  }

  /** The windows of a recipient `prepare` has seen: one shared array per place (callers may cache by identity). */
  get(m: RecipientRef, settings: CampaignSettings): readonly RecipientWindow[] {
    const w = this.byPlace.get(placeKey(m, settings));
    if (!w) throw new Error(`recipient windows for ${placeKey(m, settings)} were not prepared`);
    return w;
  }
}

/**
 * Everything a recipient's windows depend on: the number as far as its geo look-up reads it
 * (`geoKey`: in North America the area code and the exchange, whose zones may differ), the
 * customer's zone and state, the campaign's zone and quiet hours.
 */
function placeKey(m: RecipientRef, s: CampaignSettings): string {
  const q = s.recipientQuietHours;
  return `${geoKey(m.phone)}|${m.customer_timezone ?? ''}|${m.customer_state ?? ''}|${s.timezone}|${q ? `${q.start}-${q.end}` : 'off'}`;
}

/** Whether `t` is inside the campaign's business window and every recipient window. */
export function insideWindows(t: number, settings: CampaignSettings, recipient: readonly RecipientWindow[]): boolean {
  if (!windowSchedule(settings.timezone, settings.businessHours, settings.businessDays).contains(t)) return false;
  return recipient.every((r) => windowSchedule(r.zone, r.window).contains(t));
}

/** The schedules a message's send must lie in: the campaign's business window and every recipient window. */
function schedulesFor(settings: CampaignSettings, recipient: readonly RecipientWindow[]): WindowSchedule[] {
  return [windowSchedule(settings.timezone, settings.businessHours, settings.businessDays), ...recipient.map((r) => windowSchedule(r.zone, r.window))];
}

/** Whether every window is open at `t` and stays open `spanMs` more, without a gap (until a message's last bubble). */
export function windowsOpenThrough(t: number, settings: CampaignSettings, recipient: readonly RecipientWindow[], spanMs: number): boolean {
  return openThrough(schedulesFor(settings, recipient), t, spanMs);
}

/**
 * The first moment from `t` at which every window is open and stays open `spanMs` more, as
 * the planner places slots; Infinity when no opening in the next 40 days is long enough.
 */
export function nextFit(t: number, settings: CampaignSettings, recipient: readonly RecipientWindow[], spanMs: number): number {
  return earliestFit(schedulesFor(settings, recipient), t, spanMs);
}

/**
 * The first moment from `t` at which a number's own windows (quiet hours and state law, no
 * campaign hours) are open and stay open `spanMs` more: `t` when they are now; Infinity when
 * they never are.
 */
export function recipientOpensAt(t: number, recipient: readonly RecipientWindow[], spanMs: number): number {
  return earliestFit(recipient.map((r) => windowSchedule(r.zone, r.window)), t, spanMs);
}

/** From a message's first bubble to its last: the bubbles go `gapMs` apart. */
export function bubbleSpanMs(bubbles: number, gapMs: number): number {
  return Math.max(0, bubbles - 1) * gapMs;
}

/**
 * Room a slot leaves after a message's last bubble: a claim that comes a little late (the
 * tick, its batch's turn) or slow provider calls between the bubbles still end inside the
 * windows. Without it, a slot planned to the second would be refused by a claim one second
 * late, moved to the same moment of the next opening, and refused again.
 */
export const BUBBLE_MARGIN_MS = 60_000;

/** How long the windows must stay open after a slot for a message of `bubbles` bubbles (one SMS: no longer than its instant). */
export function slotSpanMs(bubbles: number, gapMs: number): number {
  return bubbles > 1 ? bubbleSpanMs(bubbles, gapMs) + BUBBLE_MARGIN_MS : 0;
}

/** A message as the planner places it: its recipient's windows, and how long they must stay open for its bubbles. */
export async function planItem(
  m: RecipientRef & { id: number; body: string },
  settings: CampaignSettings,
  gapMs: number,
): Promise<PlanItem & { bubbles: number }> {
  const bubbles = splitBubbles(m.body).length;
  return { id: Number(m.id), recipient: await windowsFor(m, settings), spanMs: slotSpanMs(bubbles, gapMs), bubbles };
}

/** Why a message fits no slot from `t` (kept on it as its last error, for review). */
export function unfitReason(t: number, settings: CampaignSettings, recipient: readonly RecipientWindow[], bubbles: number, gapMs: number): string {
  return bubbles > 1 && nextFit(t, settings, recipient, 0) !== Infinity ? tooShort(bubbles, gapMs) : NEVER_OPEN;
}

export const NEVER_OPEN =
  "the campaign's business hours and the recipient's quiet hours never overlap: change the hours (or the customer's time zone) and approve it again";

export function tooShort(bubbles: number, gapMs: number): string {
  const gap = Number((gapMs / 1000).toFixed(1));
  return `no opening of the campaign's business hours and the recipient's quiet hours is long enough for its ${bubbles} bubbles (${gap} s apart, and a minute to spare): shorten the message or widen the hours, and approve it again`;
}
