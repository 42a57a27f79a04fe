/**
 * Per-campaign settings: a campaign stores only its overrides (campaigns.settings jsonb);
 * the effective settings are the config defaults with those overrides applied.
 * `/campaign settings NAME key=value` and the CLI go through `parseSettingAssignments`.
 */
import { IANAZone } from 'luxon';
import { z } from 'zod';
import type { CampaignDefaults, Config } from '../config.ts';
import { formatDays, formatTimeWindow, parseDays, parseTimeWindow } from '../config.ts';
import { AppError } from '../errors.ts';

const windowSchema = z.object({ start: z.number().int().min(0).max(1439), end: z.number().int().min(0).max(1439) });

export const settingsOverridesSchema = z
  .object({
    timezone: z.string().refine((s) => IANAZone.isValidZone(s), 'must be an IANA time zone such as America/New_York'),
    businessHours: windowSchema,
    businessDays: z.array(z.number().int().min(1).max(7)).min(1),
    recipientQuietHours: windowSchema.nullable(),
    gapMinSeconds: z.number().int().min(0),
    gapMaxSeconds: z.number().int().min(0),
    skipProbability: z.number().min(0).max(1),
    skipMinSeconds: z.number().int().min(0),
    skipMaxSeconds: z.number().int().min(0),
    ratePerMinute: z.number().int().min(1),
    ratePerHour: z.number().int().min(1),
    ratePerDay: z.number().int().min(1),
    maxSegments: z.number().int().min(1).max(10),
    requireOptOutText: z.boolean(),
    optOutText: z.string().min(1).max(60),
    linkAllowlist: z.array(z.string()),
    bannedWords: z.array(z.string()),
    /** Failures in the last `errorBudgetWindow` sends that auto-pause the campaign. */
    errorBudget: z.number().int().min(1),
    errorBudgetWindow: z.number().int().min(1),
  })
  .partial()
  .strict();

export type SettingsOverrides = z.infer<typeof settingsOverridesSchema>;

export interface CampaignSettings extends CampaignDefaults {
  maxSegments: number;
  requireOptOutText: boolean;
  optOutText: string;
  linkAllowlist: string[];
  bannedWords: string[];
  errorBudget: number;
  errorBudgetWindow: number;
}

export function defaultSettings(config: Config): CampaignSettings {
  return {
    ...config.campaignDefaults,
    businessDays: [...config.campaignDefaults.businessDays],
    maxSegments: 2,
    requireOptOutText: true,
    optOutText: 'Reply STOP to opt out',
    linkAllowlist: [],
    bannedWords: [],
    errorBudget: 5,
    errorBudgetWindow: 20,
  };
}

/** Effective settings: defaults, then the campaign's stored overrides (invalid keys ignored). */
export function effectiveSettings(config: Config, stored: unknown): CampaignSettings {
  const parsed = settingsOverridesSchema.safeParse(stored ?? {});
  const overrides = parsed.success ? parsed.data : {};
  const s = { ...defaultSettings(config), ...overrides } as CampaignSettings;
  return s;
}

/** The keys a manager may set, with a description and an example (for help texts). */
export const SETTING_KEYS: Record<keyof CampaignSettings, { help: string; example: string }> = {
  timezone: { help: 'campaign time zone', example: 'timezone=America/New_York' },
  businessHours: { help: 'sending window in the campaign time zone', example: 'hours=10:00-18:00' },
  businessDays: { help: 'sending days', example: 'days=Mon-Fri' },
  recipientQuietHours: { help: "recipient-local window, or 'off'", example: 'quiet=08:00-21:00' },
  gapMinSeconds: { help: 'shortest gap between sends', example: 'gap_min=240' },
  gapMaxSeconds: { help: 'longest gap between sends', example: 'gap_max=420' },
  skipProbability: { help: 'chance of an extra pause after a send', example: 'skip_probability=0.175' },
  skipMinSeconds: { help: 'shortest extra pause', example: 'skip_min=600' },
  skipMaxSeconds: { help: 'longest extra pause', example: 'skip_max=900' },
  ratePerMinute: { help: 'cap per minute', example: 'per_minute=5' },
  ratePerHour: { help: 'cap per hour', example: 'per_hour=100' },
  ratePerDay: { help: 'cap per day', example: 'per_day=250' },
  maxSegments: { help: 'most segments a message may use', example: 'max_segments=2' },
  requireOptOutText: { help: 'require opt-out wording', example: 'require_opt_out=true' },
  optOutText: { help: 'the opt-out wording appended', example: 'opt_out_text="Reply STOP to opt out"' },
  linkAllowlist: { help: 'domains links may point to', example: 'links=example.com,shop.example.com' },
  bannedWords: { help: 'extra banned words', example: 'banned=free,winner' },
  errorBudget: { help: 'failures that auto-pause the campaign', example: 'error_budget=5' },
  errorBudgetWindow: { help: 'over this many recent sends', example: 'error_budget_window=20' },
};

const ALIASES: Record<string, keyof CampaignSettings> = {
  tz: 'timezone',
  timezone: 'timezone',
  hours: 'businessHours',
  business_hours: 'businessHours',
  days: 'businessDays',
  business_days: 'businessDays',
  quiet: 'recipientQuietHours',
  quiet_hours: 'recipientQuietHours',
  gap_min: 'gapMinSeconds',
  gap_max: 'gapMaxSeconds',
  skip_probability: 'skipProbability',
  skip_min: 'skipMinSeconds',
  skip_max: 'skipMaxSeconds',
  per_minute: 'ratePerMinute',
  per_hour: 'ratePerHour',
  per_day: 'ratePerDay',
  max_segments: 'maxSegments',
  require_opt_out: 'requireOptOutText',
  opt_out_text: 'optOutText',
  links: 'linkAllowlist',
  banned: 'bannedWords',
  error_budget: 'errorBudget',
  error_budget_window: 'errorBudgetWindow',
};

/**
 * Parses `key=value` words (values may be "quoted") into validated overrides, merged onto
 * `current`. Throws an AppError('bad_setting') naming the key and a good example.
 * `defaults` (the config's) fill in the bound not overridden when min/max pairs are checked.
 */
export function parseSettingAssignments(
  text: string,
  current: SettingsOverrides = {},
  defaults?: Pick<CampaignSettings, 'gapMinSeconds' | 'gapMaxSeconds' | 'skipMinSeconds' | 'skipMaxSeconds'>,
): SettingsOverrides {
  const next: Record<string, unknown> = { ...current };
  const re = /([\w-]+)\s*=\s*("([^"]*)"|'([^']*)'|\S+)/g;
  let m: RegExpExecArray | null;
  let any = false;
  while ((m = re.exec(text))) {
    any = true;
    const keyText = m[1]!.toLowerCase().replace(/-/g, '_');
    const value = m[3] ?? m[4] ?? m[2]!;
    const key = ALIASES[keyText] ?? (keyText in SETTING_KEYS ? (keyText as keyof CampaignSettings) : undefined);
    if (!key) {
      throw new AppError('bad_setting', `Unknown setting "${keyText}". Known: ${Object.keys(ALIASES).join(', ')}.`);
    }
    next[key] = coerce(key, value);
  }
  if (!any) throw new AppError('bad_setting', 'No settings given. Example: hours=10:00-18:00 per_hour=60');
  const parsed = settingsOverridesSchema.safeParse(next);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    const key = String(i.path[0]) as keyof CampaignSettings;
    throw new AppError('bad_setting', `Setting ${key}: ${i.message}. Example: ${SETTING_KEYS[key]?.example ?? ''}`);
  }
  const s = parsed.data;
  const gapMin = s.gapMinSeconds ?? defaults?.gapMinSeconds;
  const gapMax = s.gapMaxSeconds ?? defaults?.gapMaxSeconds;
  if (gapMin !== undefined && gapMax !== undefined && gapMin > gapMax) {
    throw new AppError('bad_setting', `gap_min must not exceed gap_max (${gapMin} > ${gapMax}).`);
  }
  const skipMin = s.skipMinSeconds ?? defaults?.skipMinSeconds;
  const skipMax = s.skipMaxSeconds ?? defaults?.skipMaxSeconds;
  if (skipMin !== undefined && skipMax !== undefined && skipMin > skipMax) {
    throw new AppError('bad_setting', `skip_min must not exceed skip_max (${skipMin} > ${skipMax}).`);
  }
  return s;
}

function coerce(key: keyof CampaignSettings, value: string): unknown {
  const bad = () => new AppError('bad_setting', `Setting ${key}: "${value}" is not valid. Example: ${SETTING_KEYS[key].example}`);
  switch (key) {
    case 'timezone':
    case 'optOutText':
      return value;
    case 'businessHours':
      return parseTimeWindow(value) ?? (() => { throw bad(); })();
    case 'recipientQuietHours':
      return value.toLowerCase() === 'off' ? null : (parseTimeWindow(value) ?? (() => { throw bad(); })());
    case 'businessDays':
      return parseDays(value) ?? (() => { throw bad(); })();
    case 'requireOptOutText':
      if (/^(true|yes|on|1)$/i.test(value)) return true;
      if (/^(false|no|off|0)$/i.test(value)) return false;
      throw bad();
    case 'linkAllowlist':
    case 'bannedWords':
      return value.split(',').map((s) => s.trim()).filter(Boolean);
    default: {
      const n = Number(value);
      if (!Number.isFinite(n)) throw bad();
      return n;
    }
  }
}

/** One line per setting, for `/campaign settings NAME` with no assignments. */
export function describeSettings(s: CampaignSettings): string[] {
  return [
    `timezone ${s.timezone}`,
    `hours ${formatTimeWindow(s.businessHours)} on ${formatDays(s.businessDays)}`,
    `recipient quiet hours ${s.recipientQuietHours ? formatTimeWindow(s.recipientQuietHours) : 'off'}`,
    `gaps ${s.gapMinSeconds}-${s.gapMaxSeconds}s, pause ${Math.round(s.skipProbability * 1000) / 10}% of the time for ${s.skipMinSeconds}-${s.skipMaxSeconds}s`,
    `caps ${s.ratePerMinute}/min, ${s.ratePerHour}/hour, ${s.ratePerDay}/day`,
    `max ${s.maxSegments} segments; opt-out text ${s.requireOptOutText ? `"${s.optOutText}"` : 'not required'}`,
  ];
}
