/**
 * `/campaign ...`: the one command router every surface uses (Slack slash command,
 * Discord, the console's command box). Replies are plain text; unknown input gets the
 * help, a failure gets a sentence, never a stack trace. Mutating subcommands need an approver.
 */
import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { describeSettings, effectiveSettings } from '../campaigns/settings.ts';
import type { AppContext } from '../context.ts';
import { getCampaignByName, listCampaigns, type CampaignRow } from '../db/queries/campaigns.ts';
import { openCampaignsInChannel } from '../db/queries/channelCampaigns.ts';
import { campaignCounts, type CampaignCounts } from '../db/queries/messageCounts.ts';
import { enqueueChatPosts } from '../db/queries/outbox.ts';
import { normalizePhone } from '../domain/phone.ts';
import { AppError, coerceError } from '../errors.ts';
import type { Actor } from './actor.ts';
import { campaignReport, formatReport } from '../analytics/report.ts';
import { generateBatch } from '../generator/index.ts';
import { cancelCampaign, changeCampaignSettings, pauseCampaign, resumeCampaign, sendTestMessage } from '../scheduler/controls.ts';
import { formatPreview, previewCampaign } from '../scheduler/preview.ts';
import { createSmsProvider } from '../sms/index.ts';
import { recordOptOutByHand } from '../sms/manualOptOut.ts';
import { recordSentByHand } from '../sms/markSent.ts';
import { ringOutbox } from './notify.ts';

export interface CommandReply {
  text: string;
  visibility: 'ephemeral' | 'channel';
  /** Ask before doing it: the surface shows `prompt` with a button that runs `command`. */
  confirm?: { prompt: string; command: string };
}

export const CAMPAIGN_HELP = [
  '*/campaign* commands (NAME may be left out when this channel has one running campaign):',
  '• `help` – this list',
  '• `list` – every campaign and its state',
  '• `status [NAME]` – counts by status, next send, ETA',
  '• `preview [NAME]` – the planned send schedule',
  '• `generate NAME SEGMENT [limit=N]` – write a new batch of suggestions (SEGMENT: all, lapsed:60, new:30, vip:500)',
  '• `pause [NAME]` / `resume [NAME]` – stop or restart sending',
  '• `cancel [NAME]` – cancel every pending message (asks to confirm)',
  '• `test NAME PHONE` – send one message to a test number',
  '• `settings NAME [key=value ...]` – show or change hours, caps, pacing (e.g. hours=10:00-18:00 per_hour=60)',
  '• `report [NAME]` – delivery, replies and opt-outs',
  '• `optout PHONE` or `optout reply:ID` – record an opt-out a customer asked for in their own words (cancels what is pending to them)',
  '• `sent MESSAGE SMSID [SMSID ...]` – record a message in review as sent, when the provider\'s log shows its SMS (its card shows the command; checked with the provider first)',
].join('\n');

const MUTATING = new Set(['pause', 'resume', 'cancel', 'generate', 'test', 'settings', 'optout', 'sent']);

const ephemeral = (text: string): CommandReply => ({ text, visibility: 'ephemeral' });
const toChannel = (text: string): CommandReply => ({ text, visibility: 'channel' });

/** Splits on spaces, keeping "quoted words" together. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

/** Runs `/campaign <text>` for `actor` in `channel`. */
export async function runCampaignCommand(ctx: AppContext, actor: Actor, input: { text: string; channel: string }): Promise<CommandReply> {
  const words = tokenize(input.text.trim());
  const sub = (words.shift() ?? 'help').toLowerCase();
  try {
    if (MUTATING.has(sub) && !actor.isApprover) {
      return ephemeral(`Sorry ${actor.name}, only approvers can run \`/campaign ${sub}\`.`);
    }
    switch (sub) {
      case 'help':
        return ephemeral(CAMPAIGN_HELP);
      case 'list':
        return ephemeral(await listText(ctx));
      case 'status':
        return ephemeral(await statusText(ctx, actor, input.channel, words));
      case 'preview': {
        const c = await resolveCampaign(ctx, actor, input.channel, words);
        return ephemeral(`*${c.name}*\n` + formatPreview(await previewCampaign(ctx, c.id), { maxLines: 20 }));
      }
      case 'pause':
      case 'resume': {
        const c = await resolveCampaign(ctx, actor, input.channel, words);
        const a = { campaignId: c.id, actor: actor.name, surface: actor.surface };
        const r = sub === 'pause' ? await pauseCampaign(ctx, { ...a, reason: `paused by ${actor.name}` }) : await resumeCampaign(ctx, a);
        return r.ok ? toChannel(r.message) : ephemeral(r.message);
      }
      case 'cancel':
        return await cancel(ctx, actor, input.channel, words);
      case 'test': {
        const phoneText = words.pop();
        const c = await resolveCampaign(ctx, actor, input.channel, words);
        if (!phoneText) return ephemeral('Usage: `/campaign test NAME PHONE` (example: /campaign test spring +14155550123)');
        const phone = normalizePhone(phoneText, ctx.config.phoneRegion);
        if (!phone.ok) return ephemeral(`Cannot send a test: ${phone.reason}.`);
        const r = await sendTestMessage(ctx, { campaignId: c.id, phone: phone.e164, actor: actor.name, surface: actor.surface });
        return ephemeral(r.message);
      }
      case 'settings':
        return await settings(ctx, actor, input.channel, words);
      case 'generate':
        return await generate(ctx, actor, input.channel, words);
      case 'report': {
        const c = await resolveCampaign(ctx, actor, input.channel, words);
        return ephemeral(formatReport(await campaignReport(ctx.db.pool, c.id, { now: ctx.clock.now() })));
      }
      case 'optout': {
        // Campaign-independent: one number, every campaign. Quoted or spaced numbers come back whole.
        const target = words.join(' ').trim();
        if (!target) return ephemeral('Usage: `/campaign optout PHONE` or `/campaign optout reply:ID` (the command shown under a reply that reads like an opt-out).');
        return ephemeral((await recordOptOutByHand(ctx, actor, target)).message);
      }
      case 'sent':
        return ephemeral((await recordSentByHand(ctx, createSmsProvider(ctx), actor, words)).message);
      default:
        return ephemeral(`I don't know \`${sub}\`.\n${CAMPAIGN_HELP}`);
    }
  } catch (e) {
    if (e instanceof AppError) return ephemeral(e.message);
    ctx.log.error('/campaign command failed', { err: coerceError(e), text: input.text, actor: actor.id });
    return ephemeral(`That did not work: ${coerceError(e).message}. Try \`/campaign help\`.`);
  }
}

/**
 * The campaign named by the first word, or the one running campaign of this channel.
 * Consumes the name from `words`. Throws AppError with a helpful message otherwise.
 */
async function resolveCampaign(ctx: AppContext, actor: Actor, channel: string, words: string[]): Promise<CampaignRow> {
  if (words[0] && !words[0].includes('=')) {
    const named = await getCampaignByName(ctx.db.pool, words[0]);
    if (named) {
      words.shift();
      return named;
    }
  }
  const open = await openCampaignsInChannel(ctx.db.pool, actor.surface, channel);
  if (open.length === 1) return (await getCampaignByName(ctx.db.pool, open[0]!.name))!;
  if (words[0] && !words[0].includes('=')) throw new AppError('not_found', `No campaign is named "${words[0]}". See \`/campaign list\`.`);
  throw new AppError(
    'campaign_required',
    open.length === 0
      ? 'Name the campaign: no campaign is running in this channel. See `/campaign list`.'
      : `Name the campaign: this channel has ${open.length} (${open.map((c) => c.name).join(', ')}).`,
  );
}

async function listText(ctx: AppContext): Promise<string> {
  const all = await campaignCounts(ctx.db.pool);
  if (all.length === 0) return 'No campaigns yet. Start one with `/campaign generate NAME SEGMENT`.';
  const byName = new Map((await listCampaigns(ctx.db.pool)).map((c) => [c.id, c]));
  return all
    .map((c) => `• *${c.name}* (${c.status}) – ${c.total} messages${byName.get(c.campaignId)?.paused_reason ? `, ${byName.get(c.campaignId)!.paused_reason}` : ''}`)
    .join('\n');
}

async function statusText(ctx: AppContext, actor: Actor, channel: string, words: string[]): Promise<string> {
  let rows: CampaignCounts[];
  try {
    const c = await resolveCampaign(ctx, actor, channel, words);
    rows = await campaignCounts(ctx.db.pool, c.name);
  } catch (e) {
    if (!(e instanceof AppError) || e.code !== 'campaign_required') throw e;
    rows = await campaignCounts(ctx.db.pool);
  }
  if (rows.length === 0) return 'No campaigns yet.';
  const campaigns = new Map((await listCampaigns(ctx.db.pool)).map((c) => [c.id, c]));
  return rows.map((r) => formatStatus(ctx, r, campaigns.get(r.campaignId))).join('\n\n');
}

function formatStatus(ctx: AppContext, r: CampaignCounts, c: CampaignRow | undefined): string {
  const tz = effectiveSettings(ctx.config, c?.settings).timezone;
  const when = (d: Date | null) => (d ? DateTime.fromJSDate(d).setZone(tz).toFormat('ccc L/d h:mm a ZZZZ') : '–');
  const counts = Object.entries(r.counts)
    .sort(([, a], [, b]) => (b ?? 0) - (a ?? 0))
    .map(([s, n]) => `${n} ${s.replace('_', ' ')}`)
    .join(', ');
  return [
    `*${r.name}* (${r.status}${c?.paused_reason && r.status === 'paused' ? `: ${c.paused_reason}` : ''})`,
    `${r.total} messages${counts ? `: ${counts}` : ''}`,
    `Next send: ${when(r.nextSendAt)} · ETA (last planned send): ${when(r.lastSendAt)}`,
  ].join('\n');
}

async function cancel(ctx: AppContext, actor: Actor, channel: string, words: string[]): Promise<CommandReply> {
  const c = await resolveCampaign(ctx, actor, channel, words);
  if (words[0]?.toLowerCase() !== 'confirm') {
    return {
      text: `Cancel campaign *${c.name}*? Every message not sent yet will be cancelled; this cannot be undone.`,
      visibility: 'ephemeral',
      confirm: { prompt: `Cancel ${c.name}`, command: `cancel "${c.name}" confirm` },
    };
  }
  const r = await cancelCampaign(ctx, { campaignId: c.id, actor: actor.name, surface: actor.surface });
  return r.ok ? toChannel(r.message) : ephemeral(r.message);
}

async function settings(ctx: AppContext, actor: Actor, channel: string, words: string[]): Promise<CommandReply> {
  const c = await resolveCampaign(ctx, actor, channel, words);
  const assignments = words.join(' ').trim();
  if (!assignments) {
    return ephemeral([`*${c.name}* settings:`, ...describeSettings(effectiveSettings(ctx.config, c.settings)).map((l) => `• ${l}`)].join('\n'));
  }
  const r = await changeCampaignSettings(ctx, { campaignId: c.id, assignments, actor: actor.name, surface: actor.surface });
  return r.ok ? toChannel(r.message) : ephemeral(r.message);
}

async function generate(ctx: AppContext, actor: Actor, channel: string, words: string[]): Promise<CommandReply> {
  const limitWord = words.findIndex((w) => /^limit=\d+$/i.test(w));
  const limit = limitWord >= 0 ? Number(words.splice(limitWord, 1)[0]!.split('=')[1]) : undefined;
  const [campaign, segment] = words;
  if (!campaign || !segment) {
    return ephemeral('Usage: `/campaign generate NAME SEGMENT [limit=N]` (SEGMENT: all, lapsed:60, new:30, vip:500)');
  }
  // Runs in the background: the batch is posted by the outbox when it is stored.
  void generateBatch(ctx, { campaign, segment, ...(limit ? { limit } : {}), actor: actor.name, surface: actor.surface })
    .then(async (r) => {
      if (r.suggestions === 0) await tellChannel(ctx, actor, channel, `No suggestions for *${campaign}* (${segment}): ${r.matched} customers matched after exclusions.`);
    })
    .catch(async (e: unknown) => {
      ctx.log.error('generate from chat failed', { err: coerceError(e), campaign, segment });
      await tellChannel(ctx, actor, channel, `Generating *${campaign}* (${segment}) failed: ${coerceError(e).message}`);
    });
  return toChannel(`${actor.name} started generating *${campaign}* for segment \`${segment}\`${limit ? ` (up to ${limit})` : ''}: the suggestions will be posted here for approval.`);
}

/** A top-level post in the channel, through the outbox (so it survives chat being down). */
async function tellChannel(ctx: AppContext, actor: Actor, channel: string, text: string): Promise<void> {
  if (actor.surface !== 'slack' && actor.surface !== 'discord' && actor.surface !== 'console') return;
  await enqueueChatPosts(ctx.db.pool, [
    {
      surface: actor.surface,
      kind: 'channel',
      dedupeKey: `generate:${actor.surface}:${channel}:${randomUUID()}`,
      payload: { channel, message: { text, tone: 'warning' } },
    },
  ]);
  ringOutbox();
}
