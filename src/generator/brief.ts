/**
 * A campaign's brief: what the generator is asked to write (stored in campaigns.brief).
 * Written on the command line as free text with optional `key: value` parts:
 *   "Win back lapsed regulars. offer: 10% off any drink; tone: friendly; brand: Bean There; signoff: -Sam"
 */
import { z } from 'zod';
import { campaignVariants, type CampaignVariant } from '../analytics/variants.ts';

export interface CampaignBrief {
  goal?: string;
  offer?: string;
  tone?: string;
  brand?: string;
  signoff?: string;
}

const BRIEF_KEYS = ['goal', 'offer', 'tone', 'brand', 'signoff'] as const;
const MAX_FIELD = 300;

const field = z
  .string()
  .transform((s) => s.trim().slice(0, MAX_FIELD))
  .optional()
  .catch(undefined);

/** Reads a stored brief (jsonb); unknown keys and non-string values are dropped. */
export const briefSchema = z.object({ goal: field, offer: field, tone: field, brand: field, signoff: field });

export function briefFromJson(value: unknown): CampaignBrief {
  const parsed = briefSchema.safeParse(value ?? {});
  return parsed.success ? compact(parsed.data) : {};
}

/**
 * Parses the `--brief` text. Text before the first `key:` is the goal; each key runs until
 * the next key. Keys: goal, offer, tone, brand, signoff (also "sign-off", "sign off").
 */
export function parseBrief(text: string): CampaignBrief {
  const keyRe = /(?:^|[\s;,.])(goal|offer|tone|brand|sign[-\s]?off)\s*:/gi;
  const marks: { key: (typeof BRIEF_KEYS)[number]; start: number; valueStart: number }[] = [];
  let m: RegExpExecArray | null;
  while ((m = keyRe.exec(text))) {
    const key = m[1]!.toLowerCase().replace(/[-\s]/g, '') as (typeof BRIEF_KEYS)[number];
    const start = /^[\s;,.]/.test(m[0]) ? m.index + 1 : m.index;
    marks.push({ key, start, valueStart: m.index + m[0].length });
  }
  const brief: CampaignBrief = {};
  const clean = (s: string) => s.trim().replace(/^[\s;,]+|[\s;,]+$/g, '').trim();
  const head = clean(text.slice(0, marks[0]?.start ?? text.length));
  if (head) brief.goal = head.replace(/\.$/, '');
  marks.forEach((mark, i) => {
    const value = clean(text.slice(mark.valueStart, marks[i + 1]?.start ?? text.length)).replace(/\.$/, '');
    if (value) brief[mark.key] = value.slice(0, MAX_FIELD);
  });
  return brief;
}

function compact(b: CampaignBrief): CampaignBrief {
  const out: CampaignBrief = {};
  for (const k of BRIEF_KEYS) if (b[k]) out[k] = b[k];
  return out;
}

/**
 * The `--variant` specs of an A/B test, each "NAME" or "NAME: brief parts" (the parts the
 * arm changes, as in --brief: "B: offer: a free pastry; tone: playful"). Throws
 * AppError('bad_variants') naming the problem (2 to 4 arms, unique names).
 */
export function parseVariantSpecs(specs: string[]): CampaignVariant[] {
  const variants = specs.map((spec) => {
    const colon = spec.indexOf(':');
    const name = (colon === -1 ? spec : spec.slice(0, colon)).trim();
    return { name, ...(colon === -1 ? {} : parseBrief(spec.slice(colon + 1))) };
  });
  return campaignVariants({ variants })!;
}
