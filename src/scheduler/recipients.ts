/** Recipient windows for a set of messages (quiet hours + state law in the recipient's zones). */
import type { CampaignSettings } from '../campaigns/settings.ts';
import { locateRecipient, recipientWindows, type RecipientWindow } from '../domain/quietHours.ts';
import { windowSchedule } from './plan.ts';

export interface RecipientRef {
  phone: string;
  customer_timezone: string | null;
  customer_state: string | null;
}

export async function windowsFor(m: RecipientRef, settings: CampaignSettings): Promise<RecipientWindow[]> {
  const place = await locateRecipient(m.phone, { timezone: m.customer_timezone, state: m.customer_state }, settings.timezone);
  return recipientWindows(place.zones, place.state, settings.recipientQuietHours);
}

/** Whether `t` is inside the campaign's business window and every recipient window. */
export function insideWindows(t: number, settings: CampaignSettings, recipient: readonly RecipientWindow[]): boolean {
  if (!windowSchedule(settings.timezone, settings.businessHours, settings.businessDays).contains(t)) return false;
  return recipient.every((r) => windowSchedule(r.zone, r.window).contains(t));
}
