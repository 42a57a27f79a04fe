/**
 * The planner's database part: reads a campaign's timeline, asks the pure planner
 * (./plan.ts) for slots, and writes them. Runs inside the caller's transaction and locks
 * the campaign row, so two approvals of the same campaign plan one after another.
 */
import { effectiveSettings } from '../campaigns/settings.ts';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/database.ts';
import { setCampaignStatus } from '../db/queries/campaigns.ts';
import { transitionMessages } from '../db/queries/transition.ts';
import { planSlots } from './plan.ts';
import { enqueueCards } from './posts.ts';
import { approvedToPlan, lastSlot, lockCampaign, timelineSince, writeSlots } from './queries.ts';
import { NEVER_OPEN, planItem, tooShort } from './recipients.ts';

const CAP_LOOKBACK_MS = 26 * 3_600_000; // a local day is at most 25 hours long

/**
 * Gives a scheduled_send_time to every approved message of the campaign that has none,
 * appended to the campaign's timeline. Called by the approval core inside its transaction
 * right after approving. A draft campaign becomes active with its first planned message.
 */
export async function planApprovedMessages(q: Queryable, ctx: AppContext, campaignId: number): Promise<void> {
  await plan(q, ctx, campaignId, 'append');
}

/**
 * Re-plans every approved (not yet claimed) message of the campaign from now (or from
 * `notBefore`, when later): after a resume, when hours, days, pacing or caps change, or when
 * a window closed on messages about to go. Returns how many got a new slot (one another
 * transaction holds keeps its slot).
 */
export async function replanCampaign(q: Queryable, ctx: AppContext, campaignId: number, notBefore?: Date): Promise<number> {
  return plan(q, ctx, campaignId, 'replan', notBefore);
}

async function plan(q: Queryable, ctx: AppContext, campaignId: number, mode: 'append' | 'replan', notBefore?: Date): Promise<number> {
  const campaign = await lockCampaign(q, campaignId);
  if (!campaign) throw new Error(`campaign ${campaignId} does not exist`);
  const replan = mode === 'replan';
  const messages = await approvedToPlan(q, campaignId, replan);
  if (messages.length === 0) return 0;
  const settings = effectiveSettings(ctx.config, campaign.settings);
  const from = Math.max(ctx.clock.now().getTime(), notBefore?.getTime() ?? -Infinity);

  const previous = await lastSlot(q, campaignId, replan);
  const history = await timelineSince(q, campaignId, new Date(from - CAP_LOOKBACK_MS), replan);
  const gapMs = ctx.config.scheduler.bubbleGapSeconds * 1000;
  const items = [];
  for (const m of messages) items.push(await planItem(m, settings, gapMs));
  const bubbles = new Map(items.map((i) => [i.id, i.bubbles]));

  const result = planSlots({
    settings,
    seed: campaign.seed,
    notBefore: from,
    // Both keep the drawn gap after the last slot that stays (a re-plan drops the approved ones).
    previous: previous ? { at: previous.at.getTime(), id: Number(previous.id) } : null,
    history,
    items,
  });
  const written = await writeSlots(q, result.slots, { skipHeld: replan });
  // Each message keeps why it fits nowhere (the same words the dispatcher uses).
  const short = new Set(result.tooShort);
  const reasons = new Map<string, number[]>();
  for (const id of result.unplaceable) {
    const reason = short.has(id) ? tooShort(bubbles.get(id)!, gapMs) : NEVER_OPEN;
    const ids = reasons.get(reason);
    if (ids) ids.push(id);
    else reasons.set(reason, [id]);
  }
  for (const [reason, ids] of reasons) {
    const r = await transitionMessages(q, {
      ids,
      from: 'approved',
      to: 'needs_review',
      actor: 'scheduler',
      surface: 'system',
      action: 'unschedulable',
      set: { scheduled_send_time: null, last_error: reason },
    });
    // After a settings change or a resume no one else re-renders them: their cards now ask for a person.
    await enqueueCards(q, r.moved, ctx.clock.now());
  }
  if (campaign.status === 'draft') {
    await setCampaignStatus(q, { id: campaignId, from: ['draft'], to: 'active', actor: 'scheduler', surface: 'system' });
  }
  return written;
}
