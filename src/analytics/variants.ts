/**
 * A/B variants: a campaign's brief may hold `variants: [{ name, ...brief fields }]`
 * (2 to 4 of them); every customer is assigned one deterministically from the campaign
 * seed and their phone number, so re-running the generator, adding customers or
 * re-planning never moves anybody to another arm.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../errors.ts';

export const MIN_VARIANTS = 2;
export const MAX_VARIANTS = 4;

const variantSchema = z.looseObject({
  name: z
    .string()
    .trim()
    .min(1)
    .max(40)
    .regex(/^[\w .-]+$/, 'use letters, digits, spaces, dots, dashes or underscores'),
});

const variantsSchema = z
  .array(variantSchema)
  .min(MIN_VARIANTS)
  .max(MAX_VARIANTS)
  .refine((vs) => new Set(vs.map((v) => v.name.toLowerCase())).size === vs.length, 'variant names must be unique');

/** One arm of an experiment: its name plus the brief fields (goal, offer, tone, template...) it overrides. */
export type CampaignVariant = z.infer<typeof variantSchema>;

/**
 * The variants a campaign brief defines, or null when it defines none.
 * Throws AppError('bad_variants') naming the problem when `variants` is present but invalid.
 */
export function campaignVariants(brief: unknown): CampaignVariant[] | null {
  const raw = (brief as { variants?: unknown } | null)?.variants;
  if (raw === undefined || raw === null) return null;
  const parsed = variantsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? ` (at variants.${issue.path.join('.')})` : '';
    throw new AppError(
      'bad_variants',
      `The campaign brief's variants are invalid${where}: ${issue.message}. Example: ` +
        `{"variants":[{"name":"A","offer":"10% off"},{"name":"B","offer":"free dessert"}]}`,
    );
  }
  return parsed.data;
}

/**
 * The variant `phone` belongs to: bucket = first 32 bits of sha256("<seed>:<phone>") mod
 * the number of variants. Pure and stable: it depends only on this seed, this phone and
 * the variant list (keep its order fixed once the campaign has sent).
 */
export function assignVariant(seed: number, phone: string, variants: string[]): string {
  if (variants.length < MIN_VARIANTS || variants.length > MAX_VARIANTS) {
    throw new AppError('bad_variants', `A campaign needs ${MIN_VARIANTS} to ${MAX_VARIANTS} variants, got ${variants.length}.`);
  }
  const digest = createHash('sha256').update(`${seed}:${phone}`).digest();
  return variants[digest.readUInt32BE(0) % variants.length]!;
}

/** The variant names a stored brief defines, in order; null when none are defined or they are invalid. */
export function definedVariantNames(brief: unknown): string[] | null {
  try {
    return campaignVariants(brief)?.map((v) => v.name) ?? null;
  } catch {
    return null;
  }
}

/**
 * The brief fields a variant overrides (everything but its name), to lay over the campaign
 * brief: `{ ...campaignBrief, ...variantOverrides(v) }`.
 */
export function variantOverrides(variant: CampaignVariant): Record<string, unknown> {
  const { name: _name, ...overrides } = variant;
  return overrides;
}

/** Customers grouped by their assigned variant, in variant order, each group in input order. */
export function splitIntoArms<C extends { phone: string }>(
  seed: number,
  customers: readonly C[],
  variants: readonly CampaignVariant[],
): { variant: CampaignVariant; customers: C[] }[] {
  const names = variants.map((v) => v.name);
  const arms = variants.map((variant) => ({ variant, customers: [] as C[] }));
  for (const c of customers) arms[names.indexOf(assignVariant(seed, c.phone, names))]!.customers.push(c);
  return arms;
}
