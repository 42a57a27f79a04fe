/**
 * The error budget: when too many of a campaign's recent sends failed (settings.errorBudget
 * failures among the last errorBudgetWindow), something is wrong (a bad list, a blocked
 * sender): pause the campaign before it burns through its audience, and say so in the thread.
 * A resume starts it afresh: the failures a person looked at do not count again (nor late
 * carrier reports of sends attempted before the resume).
 */
import { effectiveSettings } from '../campaigns/settings.ts';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/database.ts';
import { getCampaign, setCampaignStatus } from '../db/queries/campaigns.ts';
import { enqueueProgress, postToThread } from './posts.ts';
import { latestBatchOf, recentFailures } from './queries.ts';

/** Pauses the campaign when its budget is spent. Returns whether it paused it now. */
export async function enforceErrorBudget(q: Queryable, ctx: AppContext, campaignId: number): Promise<boolean> {
  const campaign = await getCampaign(q, campaignId);
  if (!campaign || campaign.status !== 'active') return false;
  const s = effectiveSettings(ctx.config, campaign.settings);
  const { failures, total } = await recentFailures(q, campaignId, s.errorBudgetWindow, campaign.error_budget_since);
  if (failures < s.errorBudget) return false;
  const reason = `error budget spent: ${failures} of the last ${total} sends failed`;
  const paused = await setCampaignStatus(q, { id: campaignId, from: ['active'], to: 'paused', actor: 'scheduler', surface: 'system', reason });
  if (!paused) return false;
  const batchId = await latestBatchOf(q, campaignId);
  const now = ctx.clock.now();
  await postToThread(q, ctx.config, {
    campaignId,
    batchId,
    key: `alert:error_budget:${campaignId}:${now.getTime()}`,
    message: {
      title: `Campaign "${campaign.name}" paused automatically`,
      text: `${reason}. No more messages go out until someone looks at the failures and resumes it (/campaign resume ${campaign.name}).`,
      tone: 'alert',
    },
  });
  await enqueueProgress(q, [batchId], now);
  ctx.log.warn('campaign auto-paused by its error budget', { campaign: campaign.name, failures, total });
  return true;
}
