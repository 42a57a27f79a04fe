/**
 * One generator run = one batch: pick the audience, write a suggestion per customer (outside
 * any transaction: the model may take minutes), then store campaign, batch, suggestions and
 * the batch's chat post in ONE transaction, so a batch is either complete or absent.
 */
import { randomInt } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { DateTime } from 'luxon';
import type { Config } from '../config.ts';
import { defaultSurface } from '../config.ts';
import type { AppContext } from '../context.ts';
import type { Surface } from '../db/queries/audit.ts';
import { writeAudit } from '../db/queries/audit.ts';
import { ensureCampaign, getCampaignByName, type CampaignRow } from '../db/queries/campaigns.ts';
import { enqueueChatPosts } from '../db/queries/outbox.ts';
import { effectiveSettings } from '../campaigns/settings.ts';
import { maskPhone } from '../domain/phone.ts';
import { estimateCostUsd } from '../domain/smsSegments.ts';
import { AppError } from '../errors.ts';
import { campaignVariants, splitIntoArms, variantOverrides, type CampaignVariant } from '../analytics/variants.ts';
import { briefFromJson, parseBrief, parseVariantSpecs, type CampaignBrief } from './brief.ts';
import { countFindings } from './lint.ts';
import { createCompleter } from './openaiClient.ts';
import {
  countAudience,
  countCampaignMessages,
  finishBatch,
  insertBatch,
  insertSuggestions,
  selectAudience,
  setCampaignChatHome,
  updateCampaignBrief,
  type AudienceOptions,
} from './queries.ts';
import { CAMPAIGN_TYPES, campaignTypeFor, parseSegment, type CampaignType } from './segments.ts';
import { openAiDrafts, templateDraft, templateDrafts, type AiStats, type Draft, type SuggestJob } from './suggest.ts';

export interface GenerateInput {
  campaign: string;
  segment: string;
  limit?: number;
  brief?: string;
  /** A/B arms, 2 to 4, each "NAME" or "NAME: brief parts it changes"; set when a campaign starts. */
  variants?: string[];
  generator?: 'openai' | 'templates';
  dryRun?: boolean;
  seed?: number;
  actor: string;
  surface: Surface;
  /** Campaign type (retention, welcome, vip, reminder, feedback); default: the campaign's, else inferred from the segment. */
  type?: string;
}

export interface GenerateResult {
  /** null only for a dry run of a campaign that does not exist yet. */
  campaignId: number | null;
  /** null for a dry run. */
  batchId: number | null;
  generator: 'openai' | 'templates';
  /** Customers in the segment after exclusions. */
  matched: number;
  /** reason -> count (opted_out, no_consent, already_in_campaign, frequency_cap). */
  exclusions: Record<string, number>;
  suggestions: number;
  lintFindings: number;
  estimatedCostUsd: number;
  /** The campaign's A/B arms, or null when it has none. */
  variants: string[] | null;
  sample: { name: string; phone: string; body?: string }[];
}

const SAMPLE_SIZE = 5;

/**
 * Generates one batch of `suggested` messages for a campaign (created when new), or with
 * `dryRun` only reports who would get one. Throws AppError with a clear message on a bad
 * segment, an empty audience, a cancelled campaign or an OpenAI failure; nothing is stored then.
 */
export async function generateBatch(
  ctx: AppContext,
  input: GenerateInput,
  onProgress?: (done: number, total: number) => void,
): Promise<GenerateResult> {
  const name = input.campaign.trim();
  if (name.length < 1 || name.length > 80) throw new AppError('bad_campaign_name', 'A campaign name is 1 to 80 characters, e.g. --campaign "Winback March".');
  if (input.limit !== undefined && (!Number.isInteger(input.limit) || input.limit < 1)) {
    throw new AppError('bad_limit', `--limit must be a whole number of at least 1, got ${input.limit}.`);
  }
  const segment = parseSegment(input.segment);
  const generator = chooseGenerator(ctx.config, input.generator);
  const existing = await getCampaignByName(ctx.db.pool, name);
  refuseClosed(existing);

  const givenBrief = input.brief !== undefined ? parseBrief(input.brief) : undefined;
  const givenVariants = input.variants?.length ? parseVariantSpecs(input.variants) : undefined;
  if (givenVariants && existing && !isDeepStrictEqual(givenVariants, campaignVariants(existing.brief))) {
    const n = await countCampaignMessages(ctx.db.pool, existing.id);
    if (n > 0) {
      throw new AppError(
        'variants_fixed',
        `Campaign "${existing.name}" already has ${n} message${n === 1 ? '' : 's'}, so its A/B variants cannot change (everybody keeps their arm). ` +
          `Start a new campaign for a new experiment, e.g. --campaign "${existing.name} (A/B)".`,
      );
    }
  }
  const variants = givenVariants ?? (existing ? campaignVariants(existing.brief) : null);
  // Arms follow the campaign's seed: a new campaign's is drawn here and stored with it.
  const campaignSeed = existing?.seed ?? randomInt(2 ** 31 - 1);
  const brief: CampaignBrief = givenBrief ?? briefFromJson(existing?.brief);
  const type: CampaignType =
    input.type !== undefined ? campaignTypeFor(segment, input.type) : existing ? storedType(existing.campaign_type) : segment.suggestedType;
  const settings = effectiveSettings(ctx.config, existing?.settings);
  const now = ctx.clock.now();
  const capDays = ctx.config.generator.frequencyCapDays;
  const audience: AudienceOptions = {
    today: DateTime.fromJSDate(now).setZone(settings.timezone).toISODate()!,
    campaignId: existing?.id ?? null,
    capSince: capDays > 0 ? new Date(now.getTime() - capDays * 86_400_000) : null,
  };
  const counts = await countAudience(ctx.db.pool, segment.criteria, audience);
  const customers = await selectAudience(ctx.db.pool, segment.criteria, audience, input.limit);
  const seed = input.seed ?? randomInt(2 ** 31 - 1);
  const job: SuggestJob = { type, brief, settings, seed };
  const arms = experimentArms(campaignSeed, variants, job, customers);
  const jobOf = new Map(arms.flatMap((a) => a.customers.map((c) => [c.phone, a.job] as const)));

  if (input.dryRun) {
    return {
      campaignId: existing?.id ?? null,
      batchId: null,
      generator,
      matched: counts.eligible,
      exclusions: counts.exclusions,
      suggestions: 0,
      lintFindings: 0,
      estimatedCostUsd: 0,
      variants: variants?.map((v) => v.name) ?? null,
      sample: customers.slice(0, SAMPLE_SIZE).map((c) => ({
        name: c.name ?? 'Unknown',
        phone: maskPhone(c.phone),
        ...(generator === 'templates' ? { body: templateDraft(c, jobOf.get(c.phone) ?? job).body } : {}),
      })),
    };
  }
  if (customers.length === 0) {
    const excluded = Object.entries(counts.exclusions).filter(([, n]) => n > 0).map(([r, n]) => `${r} ${n}`);
    throw new AppError(
      'empty_segment',
      `No customers to message: segment ${segment.spec} matched ${counts.matched}${excluded.length ? `, all excluded (${excluded.join(', ')})` : ''}. Nothing was created.`,
    );
  }

  let drafts: Draft[];
  let llmUsage: Record<string, unknown>;
  if (generator === 'openai') {
    const completer = createCompleter(ctx.config.openai!);
    const stats: AiStats = { formatRetries: 0, regenerations: 0, fallbacks: 0, fallbackReasons: [] };
    drafts = await draftByArm(arms, customers, onProgress, async (arm, progress) => {
      const r = await openAiDrafts(completer, arm.customers, arm.job, ctx.config.openai!.concurrency, progress);
      stats.formatRetries += r.stats.formatRetries;
      stats.regenerations += r.stats.regenerations;
      stats.fallbacks += r.stats.fallbacks;
      stats.fallbackReasons.push(...r.stats.fallbackReasons.slice(0, 5 - stats.fallbackReasons.length));
      return r.drafts;
    });
    llmUsage = { generator: 'openai', seed, ...completer.usage(), ...stats };
  } else {
    drafts = await draftByArm(arms, customers, onProgress, async (arm, progress) => templateDrafts(arm.customers, arm.job, progress));
    llmUsage = { generator: 'templates', seed };
  }

  return ctx.db.tx(async (c) => {
    const { campaign, created } = await ensureCampaign(c, {
      name,
      campaignType: type,
      brief: { ...brief, ...(variants && { variants }) },
      seed: campaignSeed,
      actor: input.actor,
      surface: input.surface,
    });
    refuseClosed(campaign);
    if (variants && campaign.seed !== campaignSeed) {
      throw new AppError('campaign_changed', `Campaign "${name}" was created elsewhere while this batch was written; run generate again.`);
    }
    let surface = campaign.chat_surface;
    if (!surface) {
      const home = defaultSurface(ctx.config);
      await setCampaignChatHome(c, campaign.id, home.surface, home.channel);
      surface = home.surface;
    }
    if (!created && (givenBrief || givenVariants)) {
      // A new brief text replaces the brief but keeps the campaign's A/B variants (unless new ones are given).
      const keep = campaign.brief.variants !== undefined ? { variants: campaign.brief.variants } : {};
      const next = { ...(givenBrief ?? briefFromJson(campaign.brief)), ...(givenVariants ? { variants: givenVariants } : keep) };
      if (!isDeepStrictEqual(next, campaign.brief)) {
        await updateCampaignBrief(c, { campaignId: campaign.id, brief: next, before: campaign.brief, actor: input.actor, surface: input.surface });
      }
    }

    const batchId = await insertBatch(c, { campaignId: campaign.id, segmentSpec: segment.spec, generator, createdBy: input.actor, createdAt: now });
    const stored = await insertSuggestions(c, { campaignId: campaign.id, batchId, campaignType: type, suggestedAt: now, messages: drafts });
    const kept = drafts.filter((d) => stored.has(d.phone));
    const lintFindings = kept.reduce((a, d) => a + countFindings(d.lint), 0);
    const smsCostUsd = estimateCostUsd(kept.reduce((a, d) => a + d.segments, 0));
    const llmCostUsd = typeof llmUsage.estimatedCostUsd === 'number' ? llmUsage.estimatedCostUsd : 0;
    const estimatedCostUsd = Math.round((smsCostUsd + llmCostUsd) * 10_000) / 10_000;
    await finishBatch(c, { batchId, suggestions: kept.length, lintFindings, estimatedCostUsd, llmUsage: { ...llmUsage, smsCostUsd } });
    await writeAudit(c, {
      actor: input.actor,
      surface: input.surface,
      action: 'batch_created',
      entityType: 'batch',
      entityId: batchId,
      after: { campaign: campaign.name, segment: segment.spec, generator, suggestions: kept.length, seed },
    });
    await enqueueChatPosts(c, [{ surface, kind: 'batch', dedupeKey: `batch:${batchId}`, batchId, payload: { batchId } }]);
    return {
      campaignId: campaign.id,
      batchId,
      generator,
      matched: counts.eligible,
      exclusions: counts.exclusions,
      suggestions: kept.length,
      lintFindings,
      estimatedCostUsd,
      variants: variants?.map((v) => v.name) ?? null,
      sample: kept.slice(0, SAMPLE_SIZE).map((d) => ({ name: d.name ?? 'Unknown', phone: maskPhone(d.phone), body: d.body })),
    };
  });
}

interface Arm<C> {
  /** The A/B variant name, or null when the campaign defines no variants. */
  variant: string | null;
  customers: C[];
  job: SuggestJob;
}

/**
 * A/B variants (src/analytics/variants.ts): each customer's arm follows from the campaign
 * seed and their phone, and the arm's brief fields override the campaign's.
 * Without variants: one arm with everybody.
 */
function experimentArms<C extends { phone: string }>(seed: number, variants: CampaignVariant[] | null, job: SuggestJob, customers: C[]): Arm<C>[] {
  if (!variants) return [{ variant: null, customers, job }];
  return splitIntoArms(seed, customers, variants).map((a) => ({
    variant: a.variant.name,
    customers: a.customers,
    job: { ...job, brief: { ...job.brief, ...briefFromJson(variantOverrides(a.variant)) } },
  }));
}

/** Writes each arm's drafts, tags them with its variant, and returns them in audience order. */
async function draftByArm<C extends { phone: string }>(
  arms: Arm<C>[],
  customers: readonly C[],
  onProgress: ((done: number, total: number) => void) | undefined,
  write: (arm: Arm<C>, progress: ((done: number) => void) | undefined) => Promise<Draft[]>,
): Promise<Draft[]> {
  const byPhone = new Map<string, Draft>();
  let before = 0;
  for (const arm of arms) {
    const drafts = await write(arm, onProgress && ((done) => onProgress(before + done, customers.length)));
    for (const d of drafts) byPhone.set(d.phone, arm.variant ? { ...d, variant: arm.variant } : d);
    before += arm.customers.length;
  }
  return customers.map((c) => byPhone.get(c.phone)!);
}

function chooseGenerator(config: Config, wanted: GenerateInput['generator']): 'openai' | 'templates' {
  if (wanted === 'templates') return 'templates';
  if (wanted === 'openai' && !config.openai) {
    throw new AppError('openai_not_configured', 'The OpenAI generator needs OPENAI_API_KEY (example: sk-...). Set it, or use --generator templates.');
  }
  return config.openai ? 'openai' : 'templates';
}

function refuseClosed(c: CampaignRow | undefined): void {
  if (c?.status === 'cancelled') {
    throw new AppError('campaign_closed', `Campaign "${c.name}" is cancelled: start a new campaign with another --campaign name.`);
  }
}

function storedType(t: string): CampaignType {
  return (CAMPAIGN_TYPES as readonly string[]).includes(t) ? (t as CampaignType) : 'retention';
}
