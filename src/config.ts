/**
 * The one place that reads the environment. `loadConfig()` validates every variable with
 * zod, applies the defaults of DESIGN.md and returns a frozen, typed object; a bad value
 * throws a ConfigError that names the variable, what is wrong and a good example.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { AppError } from './errors.ts';

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;

/** A daily window "HH:MM-HH:MM" in minutes after midnight; end may be before start (crosses midnight). */
export interface TimeWindow {
  start: number;
  end: number;
}

export function parseTimeWindow(text: string): TimeWindow | null {
  const m = /^\s*(\d\d:\d\d)\s*-\s*(\d\d:\d\d)\s*$/.exec(text);
  if (!m || !HHMM.test(m[1]!) || !HHMM.test(m[2]!)) return null;
  const toMin = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));
  const w = { start: toMin(m[1]!), end: toMin(m[2]!) };
  return w.start === w.end ? null : w;
}

export function formatTimeWindow(w: TimeWindow): string {
  const f = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  return `${f(w.start)}-${f(w.end)}`;
}

/** ISO weekdays (1 = Monday ... 7 = Sunday) from "Mon-Sat", "Mon,Wed,Fri" or "Mon-Fri,Sun". */
export function parseDays(text: string): number[] | null {
  const out = new Set<number>();
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [a, b] = part.split('-').map((s) => s.trim().slice(0, 3).toLowerCase());
    const ia = DAY_NAMES.findIndex((d) => d.toLowerCase() === a);
    const ib = b === undefined ? ia : DAY_NAMES.findIndex((d) => d.toLowerCase() === b);
    if (ia < 0 || ib < 0) return null;
    for (let i = ia; ; i = (i + 1) % 7) {
      out.add(i + 1);
      if (i === ib) break;
    }
  }
  return out.size ? [...out].sort((x, y) => x - y) : null;
}

export function formatDays(days: readonly number[]): string {
  return days.map((d) => DAY_NAMES[d - 1]).join(',');
}

const optionalString = z
  .string()
  .transform((s) => s.trim())
  .optional()
  .transform((s) => (s ? s : undefined));

function num(example: string, opts: { min?: number; max?: number; int?: boolean } = {}) {
  return z
    .string()
    .trim()
    .transform((s, ctx) => {
      const n = Number(s);
      const bad =
        s === '' ||
        !Number.isFinite(n) ||
        (opts.int && !Number.isInteger(n)) ||
        (opts.min !== undefined && n < opts.min) ||
        (opts.max !== undefined && n > opts.max);
      if (bad) {
        const range = [opts.min !== undefined ? `>= ${opts.min}` : '', opts.max !== undefined ? `<= ${opts.max}` : '']
          .filter(Boolean)
          .join(' and ');
        ctx.addIssue({
          code: 'custom',
          message: `must be ${opts.int ? 'a whole number' : 'a number'}${range ? ` ${range}` : ''}, got "${s}" (example: ${example})`,
        });
        return z.NEVER;
      }
      return n;
    });
}

function window(example: string) {
  return z.string().transform((s, ctx) => {
    const w = parseTimeWindow(s);
    if (!w) {
      ctx.addIssue({ code: 'custom', message: `must be a window HH:MM-HH:MM, got "${s}" (example: ${example})` });
      return z.NEVER;
    }
    return w;
  });
}

const timezone = z.string().transform((s, ctx) => {
  if (!IANAZone.isValidZone(s)) {
    ctx.addIssue({ code: 'custom', message: `must be an IANA time zone, got "${s}" (example: America/Los_Angeles)` });
    return z.NEVER;
  }
  return s;
});

const url = (example: string) =>
  z
    .string()
    .trim()
    .transform((s, ctx) => {
      try {
        const u = new URL(s);
        if (!/^https?:$/.test(u.protocol)) throw new Error('protocol');
        return s.replace(/\/+$/, '');
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be an http(s) URL, got "${s}" (example: ${example})` });
        return z.NEVER;
      }
    })
    .optional();

const idList = z
  .string()
  .optional()
  .transform((s) =>
    (s ?? '')
      .split(/[\s,]+/)
      .map((x) => x.trim())
      .filter(Boolean),
  );

const envSchema = z.object({
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  HOST: z.string().default('127.0.0.1'),
  PORT: num('3000', { min: 0, max: 65535, int: true }).default(3000),
  PUBLIC_URL: url('https://smsops.example.com'),
  DATABASE_URL: optionalString,
  SMSOPS_DATA_DIR: z.string().default('./data'),
  PHONE_DEFAULT_REGION: z
    .string()
    .regex(/^[A-Z]{2}$/, 'must be a two-letter ISO country code (example: US)')
    .default('US'),
  CONSOLE_TOKEN: optionalString,

  SLACK_BOT_TOKEN: optionalString,
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_APP_TOKEN: optionalString,
  SLACK_CHANNEL_ID: optionalString,
  SLACK_APPROVER_IDS: idList,
  SLACK_API_URL: url('https://slack.com/api/'),

  DISCORD_TOKEN: optionalString,
  DISCORD_APPLICATION_ID: optionalString,
  DISCORD_PUBLIC_KEY: optionalString,
  DISCORD_CHANNEL_ID: optionalString,
  DISCORD_APPROVER_ROLE_ID: optionalString,
  DISCORD_API_URL: url('https://discord.com/api'),

  TWILIO_ACCOUNT_SID: optionalString,
  TWILIO_AUTH_TOKEN: optionalString,
  TWILIO_MESSAGING_SERVICE_SID: optionalString,
  TWILIO_FROM_NUMBER: optionalString,
  TWILIO_API_URL: url('https://api.twilio.com'),

  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: url('https://api.openai.com/v1'),
  OPENAI_MODEL: z.string().default('gpt-4o-mini'),
  OPENAI_CONCURRENCY: num('20', { min: 1, max: 64, int: true }).default(20),
  OPENAI_TIMEOUT_SECONDS: num('30', { min: 0.1, max: 600 }).default(30),
  OPENAI_MAX_RETRIES: num('3', { min: 0, max: 10, int: true }).default(3),
  FREQUENCY_CAP_DAYS: num('7', { min: 0, max: 365, int: true }).default(7),

  BUSINESS_TIMEZONE: timezone.default('America/Los_Angeles'),
  BUSINESS_HOURS: window('09:00-20:00').prefault('09:00-20:00'),
  BUSINESS_DAYS: z
    .string()
    .default('Mon-Sat')
    .transform((s, ctx) => {
      const d = parseDays(s);
      if (!d) {
        ctx.addIssue({ code: 'custom', message: `must be weekdays such as Mon-Sat or Mon,Wed,Fri, got "${s}"` });
        return z.NEVER;
      }
      return d;
    }),
  RECIPIENT_QUIET_HOURS: z
    .string()
    .default('08:00-21:00')
    .transform((s, ctx) => {
      if (s.trim().toLowerCase() === 'off') return null;
      const w = parseTimeWindow(s);
      if (!w) {
        ctx.addIssue({ code: 'custom', message: `must be HH:MM-HH:MM or "off", got "${s}" (example: 08:00-21:00)` });
        return z.NEVER;
      }
      return w;
    }),

  SEND_GAP_MIN_SECONDS: num('240', { min: 0, int: true }).default(240),
  SEND_GAP_MAX_SECONDS: num('420', { min: 0, int: true }).default(420),
  SEND_SKIP_PROBABILITY: num('0.175', { min: 0, max: 1 }).default(0.175),
  SEND_SKIP_MIN_SECONDS: num('600', { min: 0, int: true }).default(600),
  SEND_SKIP_MAX_SECONDS: num('900', { min: 0, int: true }).default(900),
  RATE_PER_MINUTE: num('5', { min: 1, int: true }).default(5),
  RATE_PER_HOUR: num('100', { min: 1, int: true }).default(100),
  RATE_PER_DAY: num('250', { min: 1, int: true }).default(250),
  SCHEDULER_TICK_SECONDS: num('10', { min: 0.05 }).default(10),
  SEND_BUBBLE_GAP_SECONDS: num('3', { min: 0, max: 60 }).default(3),
  DAILY_SUMMARY_AT: z
    .string()
    .default('17:30')
    .transform((s, ctx) => {
      const at = s.trim();
      if (at.toLowerCase() === 'off') return null;
      if (!HHMM.test(at)) {
        ctx.addIssue({ code: 'custom', message: `must be HH:MM or 'off', got "${s}" (example: 17:30)` });
        return z.NEVER;
      }
      return at;
    }),
  MAX_LATENESS_MINUTES: num('120', { min: 1, int: true }).default(120),
});

type Env = z.output<typeof envSchema>;

export type SurfaceName = 'slack' | 'discord' | 'console';

/** Sending windows, pacing and caps: from the environment, overridable per campaign. */
export interface CampaignDefaults {
  timezone: string;
  businessHours: TimeWindow;
  businessDays: number[];
  recipientQuietHours: TimeWindow | null;
  gapMinSeconds: number;
  gapMaxSeconds: number;
  skipProbability: number;
  skipMinSeconds: number;
  skipMaxSeconds: number;
  ratePerMinute: number;
  ratePerHour: number;
  ratePerDay: number;
}

export interface Config {
  readonly env: Env;
  readonly http: { host: string; port: number; publicUrl: string };
  readonly database: { kind: 'postgres'; url: string } | { kind: 'pglite'; dataDir: string };
  readonly phoneRegion: string;
  readonly consoleToken: string | undefined;
  readonly slack:
    | {
        botToken: string;
        signingSecret: string;
        appToken: string | undefined;
        channelId: string;
        approverIds: string[];
        apiUrl: string | undefined;
      }
    | undefined;
  readonly discord:
    | {
        token: string;
        applicationId: string;
        publicKey: string | undefined;
        channelId: string;
        approverRoleId: string | undefined;
        apiUrl: string | undefined;
      }
    | undefined;
  readonly twilio:
    | {
        accountSid: string;
        authToken: string;
        messagingServiceSid: string | undefined;
        fromNumber: string | undefined;
        apiUrl: string | undefined;
      }
    | undefined;
  readonly openai:
    | { apiKey: string; baseUrl: string | undefined; model: string; concurrency: number; timeoutMs: number; maxRetries: number }
    | undefined;
  readonly generator: { model: string; concurrency: number; frequencyCapDays: number };
  /** Defaults for every campaign; per-campaign settings override them (see campaigns/settings). */
  readonly campaignDefaults: CampaignDefaults;
  /** dailySummaryAt: HH:MM in the business time zone, or null when the summary is off. */
  /** bubbleGapSeconds: between the SMS of one message's [BUBBLE] parts (the planner keeps room for them in the window). */
  readonly scheduler: { tickSeconds: number; dailySummaryAt: string | null; maxLatenessMinutes: number; bubbleGapSeconds: number };
}

export class ConfigError extends AppError {
  constructor(message: string) {
    super('config_invalid', message);
  }
}

/** Reads `.env` from the working directory into process.env when present (never overriding). */
export function loadDotEnv(path = resolve('.env')): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

function requireGroup(env: Record<string, unknown>, group: string, names: string[]): boolean {
  const set = names.filter((n) => env[n] !== undefined);
  if (set.length === 0) return false;
  const missing = names.filter((n) => env[n] === undefined);
  if (missing.length) {
    throw new ConfigError(
      `${group} is partly configured: ${set.join(', ')} ${set.length > 1 ? 'are' : 'is'} set but ${missing.join(', ')} ${
        missing.length > 1 ? 'are' : 'is'
      } missing. Set all of them, or none to use the embedded default.`,
    );
  }
  return true;
}

/** Validates an environment (process.env by default) and returns the frozen config. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const v = source[key];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${String(i.path[0] ?? '?')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}\nFix the variable(s) above (see .env.example).`);
  }
  const env = parsed.data;
  if (env.SEND_GAP_MIN_SECONDS > env.SEND_GAP_MAX_SECONDS) {
    throw new ConfigError(
      `SEND_GAP_MIN_SECONDS (${env.SEND_GAP_MIN_SECONDS}) must not exceed SEND_GAP_MAX_SECONDS (${env.SEND_GAP_MAX_SECONDS}).`,
    );
  }
  if (env.SEND_SKIP_MIN_SECONDS > env.SEND_SKIP_MAX_SECONDS) {
    throw new ConfigError(
      `SEND_SKIP_MIN_SECONDS (${env.SEND_SKIP_MIN_SECONDS}) must not exceed SEND_SKIP_MAX_SECONDS (${env.SEND_SKIP_MAX_SECONDS}).`,
    );
  }

  const hasSlack = requireGroup(env, 'Slack', ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_CHANNEL_ID']);
  const hasDiscord = requireGroup(env, 'Discord', ['DISCORD_TOKEN', 'DISCORD_APPLICATION_ID', 'DISCORD_CHANNEL_ID']);
  const hasTwilio = requireGroup(env, 'Twilio', ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN']);
  if (hasTwilio && !env.TWILIO_MESSAGING_SERVICE_SID && !env.TWILIO_FROM_NUMBER) {
    throw new ConfigError(
      'Twilio needs a sender: set TWILIO_MESSAGING_SERVICE_SID (example: MG0123...) or TWILIO_FROM_NUMBER (example: +14155550100).',
    );
  }
  if (hasTwilio && !env.PUBLIC_URL) {
    throw new ConfigError(
      'PUBLIC_URL is required with Twilio: status callbacks and webhook signatures use it (example: https://smsops.example.com).',
    );
  }
  const loopback = ['127.0.0.1', 'localhost', '::1'].includes(env.HOST);
  if (!loopback && !env.CONSOLE_TOKEN && !hasSlack && !hasDiscord) {
    throw new ConfigError(
      `HOST=${env.HOST} exposes the web console beyond this machine: set CONSOLE_TOKEN (a long random string) to require it, or bind HOST=127.0.0.1.`,
    );
  }

  const config: Config = {
    env,
    http: { host: env.HOST, port: env.PORT, publicUrl: env.PUBLIC_URL ?? `http://${env.HOST}:${env.PORT}` },
    database: env.DATABASE_URL
      ? { kind: 'postgres', url: env.DATABASE_URL }
      : { kind: 'pglite', dataDir: resolve(env.SMSOPS_DATA_DIR) },
    phoneRegion: env.PHONE_DEFAULT_REGION,
    consoleToken: env.CONSOLE_TOKEN,
    slack: hasSlack
      ? {
          botToken: env.SLACK_BOT_TOKEN!,
          signingSecret: env.SLACK_SIGNING_SECRET!,
          appToken: env.SLACK_APP_TOKEN,
          channelId: env.SLACK_CHANNEL_ID!,
          approverIds: env.SLACK_APPROVER_IDS,
          apiUrl: env.SLACK_API_URL,
        }
      : undefined,
    discord: hasDiscord
      ? {
          token: env.DISCORD_TOKEN!,
          applicationId: env.DISCORD_APPLICATION_ID!,
          publicKey: env.DISCORD_PUBLIC_KEY,
          channelId: env.DISCORD_CHANNEL_ID!,
          approverRoleId: env.DISCORD_APPROVER_ROLE_ID,
          apiUrl: env.DISCORD_API_URL,
        }
      : undefined,
    twilio: hasTwilio
      ? {
          accountSid: env.TWILIO_ACCOUNT_SID!,
          authToken: env.TWILIO_AUTH_TOKEN!,
          messagingServiceSid: env.TWILIO_MESSAGING_SERVICE_SID,
          fromNumber: env.TWILIO_FROM_NUMBER,
          apiUrl: env.TWILIO_API_URL,
        }
      : undefined,
    openai: env.OPENAI_API_KEY
      ? {
          apiKey: env.OPENAI_API_KEY,
          baseUrl: env.OPENAI_BASE_URL,
          model: env.OPENAI_MODEL,
          concurrency: env.OPENAI_CONCURRENCY,
          timeoutMs: Math.round(env.OPENAI_TIMEOUT_SECONDS * 1000),
          maxRetries: env.OPENAI_MAX_RETRIES,
        }
      : undefined,
    generator: { model: env.OPENAI_MODEL, concurrency: env.OPENAI_CONCURRENCY, frequencyCapDays: env.FREQUENCY_CAP_DAYS },
    campaignDefaults: {
      timezone: env.BUSINESS_TIMEZONE,
      businessHours: env.BUSINESS_HOURS,
      businessDays: env.BUSINESS_DAYS,
      recipientQuietHours: env.RECIPIENT_QUIET_HOURS,
      gapMinSeconds: env.SEND_GAP_MIN_SECONDS,
      gapMaxSeconds: env.SEND_GAP_MAX_SECONDS,
      skipProbability: env.SEND_SKIP_PROBABILITY,
      skipMinSeconds: env.SEND_SKIP_MIN_SECONDS,
      skipMaxSeconds: env.SEND_SKIP_MAX_SECONDS,
      ratePerMinute: env.RATE_PER_MINUTE,
      ratePerHour: env.RATE_PER_HOUR,
      ratePerDay: env.RATE_PER_DAY,
    },
    scheduler: {
      tickSeconds: env.SCHEDULER_TICK_SECONDS,
      dailySummaryAt: env.DAILY_SUMMARY_AT,
      maxLatenessMinutes: env.MAX_LATENESS_MINUTES,
      bubbleGapSeconds: env.SEND_BUBBLE_GAP_SECONDS,
    },
  };
  return deepFreeze(config);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** The surface new campaigns live on: Slack if configured, else Discord, else the local console. */
export function defaultSurface(config: Config): { surface: SurfaceName; channel: string } {
  if (config.slack) return { surface: 'slack', channel: config.slack.channelId };
  if (config.discord) return { surface: 'discord', channel: config.discord.channelId };
  return { surface: 'console', channel: 'console' };
}
