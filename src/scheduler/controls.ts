/**
 * Campaign controls from chat or the CLI: pause, resume, cancel, test send, settings.
 * Each takes effect before the next send: the dispatcher only claims messages of active
 * campaigns, and re-reads the campaign in the same statement that claims.
 */
import { optedOutPhones } from '../db/queries/contactStatus.ts';
import { PENDING_STATUSES } from '../domain/messageStatus.ts';
import { parseSettingAssignments, settingsOverridesSchema } from '../campaigns/settings.ts';
import type { AppContext } from '../context.ts';
import { getCampaign, restartErrorBudget, setCampaignStatus, updateCampaignSettings, type CampaignRow } from '../db/queries/campaigns.ts';
import type { Queryable } from '../db/database.ts';
import { customerForSending } from '../customers/queries.ts';
import { writeAudit, type Surface } from '../db/queries/audit.ts';
import { transitionMessages } from '../db/queries/transition.ts';
import { maskPhone, normalizePhone } from '../domain/phone.ts';
import { AppError } from '../errors.ts';
import { splitBubbles } from '../sms/bubbles.ts';
import { createSmsProvider } from '../sms/index.ts';
import { SmsSendError } from '../sms/provider.ts';
import { TEST_SEND_PREFIX } from '../sms/providerText.ts';
import { replanCampaign } from './planner.ts';
import { enqueueCards, enqueueProgress, postToThread } from './posts.ts';
import { formatWhen } from './progress.ts';
import { latestBatchOf, lockCampaign, messageToTest, pendingIdsOfCampaign } from './queries.ts';
import { sendCounts } from './stats.ts';
import { bubbleSpanMs, recipientOpensAt, windowsFor } from './recipients.ts';
import { defaultSettings, effectiveSettings } from '../campaigns/settings.ts';

type Result = { ok: boolean; message: string };

export async function pauseCampaign(
  ctx: AppContext,
  a: { campaignId: number; actor: string; surface: Surface; reason?: string },
): Promise<Result> {
  return ctx.db.tx(async (c) => {
    const campaign = await getCampaign(c, a.campaignId);
    if (!campaign) return { ok: false, message: `No campaign with id ${a.campaignId}.` };
    const reason = a.reason ?? `paused by ${a.actor}`;
    const ok = await setCampaignStatus(c, { id: a.campaignId, from: ['active', 'draft'], to: 'paused', actor: a.actor, surface: a.surface, reason });
    if (!ok) return { ok: false, message: `Campaign "${campaign.name}" is ${campaign.status}; only an active campaign can be paused.` };
    const batchId = await latestBatchOf(c, a.campaignId);
    await postToThread(c, ctx.config, {
      campaignId: a.campaignId, batchId, key: `control:pause:${a.campaignId}:${ctx.clock.now().getTime()}`,
      message: { title: 'Campaign paused', text: `${a.actor} paused "${campaign.name}". Planned send times are kept until it resumes.`, tone: 'warning' },
    });
    await enqueueProgress(c, [batchId], ctx.clock.now());
    return { ok: true, message: `Paused "${campaign.name}". Nothing more goes out until you resume it.` };
  });
}

export async function resumeCampaign(ctx: AppContext, a: { campaignId: number; actor: string; surface: Surface }): Promise<Result> {
  return ctx.db.tx(async (c) => {
    const campaign = await getCampaign(c, a.campaignId);
    if (!campaign) return { ok: false, message: `No campaign with id ${a.campaignId}.` };
    const ok = await setCampaignStatus(c, { id: a.campaignId, from: ['paused'], to: 'active', actor: a.actor, surface: a.surface });
    if (!ok) return { ok: false, message: `Campaign "${campaign.name}" is ${campaign.status}; only a paused campaign can be resumed.` };
    await restartErrorBudget(c, a.campaignId, ctx.clock.now());
    const planned = await replanCampaign(c, ctx, a.campaignId);
    const { nextSendAt: nextAt } = await sendCounts(c, { campaignId: a.campaignId });
    const zone = effectiveSettings(ctx.config, campaign.settings).timezone;
    const next = nextAt ? ` Next send ${formatWhen(nextAt, zone)}.` : '';
    const batchId = await latestBatchOf(c, a.campaignId);
    await postToThread(c, ctx.config, {
      campaignId: a.campaignId, batchId, key: `control:resume:${a.campaignId}:${ctx.clock.now().getTime()}`,
      message: { title: 'Campaign resumed', text: `${a.actor} resumed "${campaign.name}": ${planned} messages re-planned from now.${next}`, tone: 'info' },
    });
    await enqueueProgress(c, [batchId], ctx.clock.now());
    return { ok: true, message: `Resumed "${campaign.name}": ${planned} messages re-planned from now.${next}` };
  });
}

export async function cancelCampaign(
  ctx: AppContext,
  a: { campaignId: number; actor: string; surface: Surface },
): Promise<Result & { cancelled: number }> {
  return ctx.db.tx(async (c) => {
    const campaign = await getCampaign(c, a.campaignId);
    if (!campaign) return { ok: false, message: `No campaign with id ${a.campaignId}.`, cancelled: 0 };
    const ok = await setCampaignStatus(c, {
      id: a.campaignId, from: ['draft', 'active', 'paused', 'completed'], to: 'cancelled', actor: a.actor, surface: a.surface,
    });
    if (!ok) return { ok: false, message: `Campaign "${campaign.name}" is already ${campaign.status}.`, cancelled: 0 };
    const r = await transitionMessages(c, {
      ids: await pendingIdsOfCampaign(c, a.campaignId),
      from: PENDING_STATUSES,
      to: 'cancelled',
      actor: a.actor,
      surface: a.surface,
      action: 'cancelled_campaign',
      set: { cancelled_reason: 'campaign_cancelled' },
    });
    await enqueueCards(c, r.moved, ctx.clock.now());
    const batchId = await latestBatchOf(c, a.campaignId);
    await postToThread(c, ctx.config, {
      campaignId: a.campaignId, batchId, key: `control:cancel:${a.campaignId}`,
      message: { title: 'Campaign cancelled', text: `${a.actor} cancelled "${campaign.name}": ${r.moved.length} unsent messages cancelled.`, tone: 'alert' },
    });
    await enqueueProgress(c, [batchId], ctx.clock.now());
    return { ok: true, message: `Cancelled "${campaign.name}": ${r.moved.length} unsent messages cancelled.`, cancelled: r.moved.length };
  });
}

/**
 * Sends one of the campaign's messages to a test number, marked "[TEST]", now (no pacing,
 * no business hours), but never to an opted-out number, nor to a customer's number without
 * their consent or outside their quiet hours (unless it is one of the campaign's test
 * numbers). Recorded in the audit log before the provider call, and in the thread after.
 * It is not a campaign message: it never counts as sent.
 */
export async function sendTestMessage(
  ctx: AppContext,
  a: { campaignId: number; phone: string; actor: string; surface: Surface },
): Promise<Result> {
  const phone = normalizePhone(a.phone, ctx.config.phoneRegion);
  if (!phone.ok) return { ok: false, message: `Cannot send a test to "${a.phone}": ${phone.reason}.` };
  const prepared = await ctx.db.tx(async (c) => {
    const campaign = await getCampaign(c, a.campaignId);
    if (!campaign) return { ok: false as const, message: `No campaign with id ${a.campaignId}.` };
    if ((await optedOutPhones(c, [phone.e164])).size) return { ok: false as const, message: `${maskPhone(phone.e164)} has opted out; pick another test number.` };
    const sample = await messageToTest(c, a.campaignId);
    if (!sample) return { ok: false as const, message: `Campaign "${campaign.name}" has no message to test yet.` };
    const refused = await refusedAsCustomer(c, ctx, campaign, phone.e164, sample.body);
    if (refused) return { ok: false as const, message: refused };
    await writeAudit(c, {
      actor: a.actor, surface: a.surface, action: 'test_send', entityType: 'campaign', entityId: a.campaignId,
      after: { phone: phone.e164, body: sample.body, test_mode: true },
    });
    return { ok: true as const, name: campaign.name, body: sample.body, batchId: sample.batch_id === null ? null : Number(sample.batch_id) };
  });
  if (!prepared.ok) return prepared;
  const sms = createSmsProvider(ctx);
  const ids: string[] = [];
  let error: string | null = null;
  try {
    for (const [i, body] of splitBubbles(prepared.body).entries()) {
      ids.push((await sms.send({ to: phone.e164, body: TEST_SEND_PREFIX + body, bubble: i })).providerMessageId);
    }
  } catch (e) {
    error = e instanceof SmsSendError ? `${e.message}${e.providerCode ? ` (${e.providerCode})` : ''}` : String(e);
  }
  await ctx.db.tx(async (c) => {
    await writeAudit(c, {
      actor: a.actor, surface: a.surface, action: error ? 'test_send_failed' : 'test_sent', entityType: 'campaign', entityId: a.campaignId,
      after: { phone: phone.e164, providerMessageIds: ids, error },
    });
    await postToThread(c, ctx.config, {
      campaignId: a.campaignId, batchId: prepared.batchId, key: `test:${a.campaignId}:${ctx.clock.now().getTime()}:${phone.e164}`,
      message: {
        title: 'Test send',
        text: error
          ? `${a.actor}'s test send to ${maskPhone(phone.e164)} failed: ${error}`
          : `${a.actor} sent a test of "${prepared.name}" to ${maskPhone(phone.e164)}: "${prepared.body}"`,
        tone: error ? 'alert' : 'info',
      },
    });
  });
  return error
    ? { ok: false, message: `Test send to ${maskPhone(phone.e164)} failed: ${error}` }
    : { ok: true, message: `Test message sent to ${maskPhone(phone.e164)}.` };
}

/**
 * Why a test may not go to this number now, if it is a customer's: the rules of a campaign
 * send (consent, the recipient's quiet hours and state law) hold for a test too. The
 * campaign's own test numbers are the manager's to text.
 */
async function refusedAsCustomer(c: Queryable, ctx: AppContext, campaign: CampaignRow, phone: string, body: string): Promise<string | null> {
  if ((campaign.test_numbers ?? []).includes(phone)) return null;
  const customer = await customerForSending(c, phone);
  if (!customer) return null;
  const who = `${maskPhone(phone)} is a customer's number${customer.name ? ` (${customer.name})` : ''}`;
  if (customer.consent_status !== 'opted_in') {
    return `${who} without consent to texts (${customer.consent_status}); pick another test number, or add it to the campaign's test numbers.`;
  }
  const settings = effectiveSettings(ctx.config, campaign.settings);
  const recipient = await windowsFor({ phone, customer_timezone: customer.timezone, customer_state: customer.state }, settings);
  const now = ctx.clock.now().getTime();
  const at = recipientOpensAt(now, recipient, bubbleSpanMs(splitBubbles(body).length, ctx.config.scheduler.bubbleGapSeconds * 1000));
  if (at === now) return null;
  const zone = recipient[0]?.zone ?? settings.timezone;
  const when = at === Infinity ? 'their quiet hours never open' : `try again from ${formatWhen(new Date(at), zone)} (${zone})`;
  return `${who}, and it is outside their quiet hours now: ${when}, pick another test number, or add it to the campaign's test numbers.`;
}

/** Applies `key=value` settings (parseSettingAssignments) and re-plans the campaign's unsent messages. */
export async function changeCampaignSettings(
  ctx: AppContext,
  a: { campaignId: number; assignments: string; actor: string; surface: Surface },
): Promise<Result> {
  try {
    return await ctx.db.tx(async (c) => {
      // Locked before it is read: two changes at once each merge onto the other's, none is lost.
      const campaign = await lockCampaign(c, a.campaignId);
      if (!campaign) return { ok: false, message: `No campaign with id ${a.campaignId}.` };
      const current = settingsOverridesSchema.safeParse(campaign.settings ?? {});
      const next = parseSettingAssignments(a.assignments, current.success ? current.data : {}, defaultSettings(ctx.config));
      await updateCampaignSettings(c, { id: a.campaignId, settings: next, actor: a.actor, surface: a.surface });
      const planned = campaign.status === 'cancelled' ? 0 : await replanCampaign(c, ctx, a.campaignId);
      return { ok: true, message: `Updated "${campaign.name}" (${a.assignments.trim()}); ${planned} unsent messages re-planned.` };
    });
  } catch (e) {
    if (e instanceof AppError && e.code === 'bad_setting') return { ok: false, message: e.message };
    throw e;
  }
}
