/**
 * Demo data for a first look: on an empty database, the customers of
 * examples/customers.csv and a first batch written by the template generator, in a demo
 * campaign whose pacing is relaxed (all day, every day, short gaps) so that, with the
 * demo's fast clock, a whole campaign plays out in a couple of minutes.
 */
import { fileURLToPath } from 'node:url';
import { DateTime } from 'luxon';
import type { SettingsOverrides } from '../../campaigns/settings.ts';
import type { AppContext } from '../../context.ts';
import { ensureCampaign, updateCampaignSettings } from '../../db/queries/campaigns.ts';
import { importCustomers } from '../../customers/importCustomers.ts';
import { generateBatch } from '../../generator/index.ts';
import { ringOutbox } from '../notify.ts';
import { isDatabaseEmpty } from './queries.ts';

export const DEMO_CUSTOMERS_CSV = fileURLToPath(new URL('../../../examples/customers.csv', import.meta.url));
export const DEMO_CAMPAIGN = 'Demo: we miss you';

const DEMO_BRIEF = {
  goal: 'Win back regulars who have not visited in a while',
  offer: '10% off your next visit',
  tone: 'warm and friendly',
  brand: 'Main Street',
};

/**
 * Pacing for the demo campaign, in app-clock seconds: gaps of 45-105 s and an occasional
 * 4-6 minute pause. With the demo clock at 40x that is a send every 1-3 s, and a batch of
 * about 45 approved messages goes out in two to three minutes.
 * Business hours are all day, every day, and quiet hours are off; the state laws of the
 * Florida and Oklahoma customers still apply (see DEMO_DAY).
 */
export const DEMO_SETTINGS: SettingsOverrides = {
  businessHours: { start: 0, end: 23 * 60 + 59 },
  businessDays: [1, 2, 3, 4, 5, 6, 7],
  recipientQuietHours: null,
  gapMinSeconds: 45,
  gapMaxSeconds: 105,
  skipProbability: 0.1,
  skipMinSeconds: 240,
  skipMaxSeconds: 360,
  ratePerMinute: 5,
  ratePerHour: 100,
  ratePerDay: 250,
};

/**
 * Where and when the demo's day runs: its customers include Florida and Oklahoma numbers,
 * where state law allows texts 08:00-20:00 local only, and the demo honours that like any
 * campaign. A start from 10:00 to 15:00 in New York leaves five hours or more inside that
 * window in both states' zones: a demo campaign on the fast clock needs two or three.
 */
const DEMO_DAY = { zone: 'America/New_York', startHour: 10, endHour: 15 };

/**
 * When the demo's fast clock starts: now in New York's daytime, else the next 10:00 there,
 * so a campaign plays out at whatever hour one tries the demo (at night the first send
 * would otherwise wait for the morning, a quarter of an hour at 40x).
 */
export function demoClockStart(now: Date): Date {
  const local = DateTime.fromJSDate(now, { zone: DEMO_DAY.zone });
  if (local.hour >= DEMO_DAY.startHour && local.hour < DEMO_DAY.endHour) return now;
  const morning = local.set({ hour: DEMO_DAY.startHour, minute: 0, second: 0, millisecond: 0 });
  return (local.hour < DEMO_DAY.startHour ? morning : morning.plus({ days: 1 })).toJSDate();
}

export type DemoResult =
  | { ok: true; message: string; imported: number; campaignId: number; batchId: number; suggestions: number }
  | { ok: false; message: string };

/** Loads the demo data into an empty database; refuses (ok: false) when there is data already. */
export async function loadDemoData(ctx: AppContext, actor: string): Promise<DemoResult> {
  if (!(await isDatabaseEmpty(ctx.db.pool))) {
    return { ok: false, message: 'Demo data loads only into an empty database, and this one already has customers or campaigns.' };
  }
  const imported = await importCustomers(ctx, DEMO_CUSTOMERS_CSV, { actor, surface: 'console', rejectsPath: null });
  // The campaign exists with its brief and pacing before the generator writes (and lints) the batch.
  const campaignId = await ctx.db.tx(async (c) => {
    const { campaign } = await ensureCampaign(c, { name: DEMO_CAMPAIGN, brief: DEMO_BRIEF, actor, surface: 'console' });
    await updateCampaignSettings(c, { id: campaign.id, settings: DEMO_SETTINGS, actor, surface: 'console' });
    return campaign.id;
  });
  const batch = await generateBatch(ctx, {
    campaign: DEMO_CAMPAIGN,
    segment: 'all',
    generator: 'templates',
    seed: 1,
    actor,
    surface: 'console',
  });
  ringOutbox();
  return {
    ok: true,
    message: `Imported ${imported.imported} customers and wrote a first batch of ${batch.suggestions} suggestions in "${DEMO_CAMPAIGN}". It appears in the channel in a moment.`,
    imported: imported.imported,
    campaignId,
    batchId: batch.batchId!,
    suggestions: batch.suggestions,
  };
}
