/**
 * The message lint: run on every suggestion and again after every edit (the approval core
 * calls `lintMessage` too). Pure: text and campaign settings/brief in, findings out.
 *
 * Rules (rule id — severity):
 *   empty — error; segments (per [BUBBLE]) above settings.maxSegments — error;
 *   encoding: characters forcing UCS-2 — warning; opt_out_missing — error when required;
 *   placeholder: unfilled {{x}} / {x} / [x] — error; link / phone_number not on
 *   settings.linkAllowlist — error; banned_word (SHAFT defaults + settings.bannedWords) — error;
 *   offer_mismatch: a percentage, dollar amount, "free" or BOGO the brief does not offer — error.
 */
import { bubbleParts } from '../sms/bubbles.ts';
import type { CampaignSettings } from '../campaigns/settings.ts';
import type { LintFinding } from '../domain/lintFinding.ts';
import { analyzeSms, estimateCostUsd, type Encoding, type SegmentInfo } from '../domain/smsSegments.ts';
import type { CampaignBrief } from './brief.ts';

export type { CampaignBrief } from './brief.ts';
export type { LintFinding } from '../domain/lintFinding.ts';

export interface LintContext {
  settings: CampaignSettings;
  brief: CampaignBrief;
}

/** Carrier-prohibited (SHAFT) content: sex, hate, alcohol, firearms, tobacco/cannabis/vape. */
export const DEFAULT_BANNED_WORDS: readonly string[] = [
  'sex', 'sexy', 'porn', 'xxx', 'nude', 'nudes', 'escort',
  'racist', 'nazi', 'white power',
  'alcohol', 'beer', 'wine', 'vodka', 'whiskey', 'tequila', 'liquor', 'booze', 'happy hour',
  'gun', 'firearm', 'rifle', 'pistol', 'ammo', 'ammunition',
  'tobacco', 'cigarette', 'cigar', 'vape', 'vaping', 'e-cig', 'cannabis', 'marijuana', 'weed', 'cbd', 'thc', 'kratom',
];


export interface MessageMeasure {
  /** Total segments over every bubble (what is billed). */
  segments: number;
  /** UCS-2 if any bubble needs it. */
  encoding: Encoding;
  estimatedCostUsd: number;
  bubbles: SegmentInfo[];
}

export function measureMessage(body: string): MessageMeasure {
  return measureOf(bubbleParts(body).map((b) => analyzeSms(b)));
}

function measureOf(bubbles: SegmentInfo[]): MessageMeasure {
  const segments = bubbles.reduce((a, b) => a + b.segments, 0);
  return {
    segments,
    encoding: bubbles.some((b) => b.encoding === 'UCS-2') ? 'UCS-2' : 'GSM-7',
    estimatedCostUsd: estimateCostUsd(segments),
    bubbles,
  };
}

/** True when the body already tells the recipient how to opt out. */
export function hasOptOutWording(body: string, optOutText: string): boolean {
  if (body.toLowerCase().includes(optOutText.toLowerCase())) return true;
  return /\b(reply|text|txt|send)\s+["']?stop\b/i.test(body) || /\bstop\s+to\s+(opt[\s-]?out|unsubscribe|end|quit|cancel)\b/i.test(body);
}

/** Appends the campaign's opt-out wording when it is required and missing. */
export function withOptOutText(body: string, settings: Pick<CampaignSettings, 'requireOptOutText' | 'optOutText'>): string {
  if (!settings.requireOptOutText || hasOptOutWording(body, settings.optOutText)) return body;
  return `${body.trimEnd()}\n${settings.optOutText}`;
}

/** Lints one message body. Pure; findings in rule order. */
export function lintMessage(body: string, lc: LintContext): LintFinding[] {
  const bubbles = bubbleParts(body);
  return lintBubbles(body, bubbles, bubbles.map((b) => analyzeSms(b)), lc);
}

/** Measures and lints in one pass (each bubble is analysed once). */
export function measureAndLint(body: string, lc: LintContext): { measure: MessageMeasure; lint: LintFinding[] } {
  const bubbles = bubbleParts(body);
  const infos = bubbles.map((b) => analyzeSms(b));
  return { measure: measureOf(infos), lint: lintBubbles(body, bubbles, infos, lc) };
}

function lintBubbles(body: string, bubbles: string[], infos: SegmentInfo[], lc: LintContext): LintFinding[] {
  const { settings } = lc;
  // Callers may pass the stored jsonb brief as is: read only its string fields.
  const brief = { offer: text(lc.brief.offer), goal: text(lc.brief.goal) };
  const out: LintFinding[] = [];
  const many = bubbles.length > 1;

  if (body.trim() === '') {
    out.push({ rule: 'empty', severity: 'error', message: 'The message is empty.' });
    return out;
  }
  bubbles.forEach((b, i) => {
    const where = many ? `Bubble ${i + 1}` : 'The message';
    if (b.trim() === '') {
      out.push({ rule: 'empty', severity: 'error', message: `${where} is empty: remove the extra [BUBBLE].` });
      return;
    }
    const info = infos[i]!;
    if (info.segments > settings.maxSegments) {
      out.push({
        rule: 'segments',
        severity: 'error',
        message: `${where} needs ${info.segments} SMS segments (${info.encoding}, ${info.units} ${info.encoding === 'GSM-7' ? 'characters' : 'units'}); this campaign allows ${settings.maxSegments}. Shorten it.`,
      });
    }
    if (info.encoding === 'UCS-2') {
      const chars = info.nonGsmChars.slice(0, 5).map((c) => `"${c}"`).join(' ');
      out.push({
        rule: 'encoding',
        severity: 'warning',
        message: `${chars} force${info.nonGsmChars.length === 1 ? 's' : ''} UCS-2 (70 characters per segment instead of 160); replace ${info.nonGsmChars.length === 1 ? 'it' : 'them'} to cut the cost.`,
      });
    }
  });

  if (settings.requireOptOutText && !hasOptOutWording(body, settings.optOutText)) {
    out.push({ rule: 'opt_out_missing', severity: 'error', message: `Opt-out wording is missing: add "${settings.optOutText}".` });
  }

  const placeholders = unique(bubbles.flatMap((b) => b.match(PLACEHOLDER) ?? []));
  if (placeholders.length) {
    out.push({ rule: 'placeholder', severity: 'error', message: `Unfilled placeholder${placeholders.length > 1 ? 's' : ''}: ${placeholders.slice(0, 5).join(', ')}.` });
  }

  const allow = allowlist(settings.linkAllowlist);
  for (const host of unique(linkHosts(body))) {
    if (!allow.hosts.some((a) => host === a || host.endsWith('.' + a))) {
      out.push({
        rule: 'link',
        severity: 'error',
        message: `Link to ${host} is not on this campaign's allowlist${allow.hosts.length ? ` (${allow.hosts.join(', ')})` : ' (empty)'}.`,
      });
    }
  }
  for (const phone of unique(phoneNumbers(body))) {
    const digits = phone.replace(/\D/g, '');
    if (!allow.phones.some((p) => p.endsWith(digits) || digits.endsWith(p))) {
      out.push({ rule: 'phone_number', severity: 'error', message: `Phone number ${phone} is not on this campaign's allowlist.` });
    }
  }

  const banned = bannedMatches(body, settings.bannedWords);
  if (banned.length) {
    out.push({
      rule: 'banned_word',
      severity: 'error',
      message: `Banned wording: ${banned.slice(0, 5).map((w) => `"${w}"`).join(', ')} (carriers filter prohibited content).`,
    });
  }

  const allowed = briefOffers([brief.offer, brief.goal].filter(Boolean).join(' '));
  const extra = unique(offerTokens(body)).filter((t) => !allowed.has(t));
  if (extra.length) {
    out.push({
      rule: 'offer_mismatch',
      severity: 'error',
      message: `The text offers ${extra.map(describeToken).join(', ')}, which the brief does not${brief.offer ? ` (brief offer: "${brief.offer}")` : ' (the brief has no offer)'}.`,
    });
  }
  return out;
}

/** Findings a human must look at (errors and warnings; info is just facts). */
export function countFindings(findings: readonly LintFinding[]): number {
  return findings.filter((f) => f.severity !== 'info').length;
}

export function hasErrors(findings: readonly LintFinding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}

const PLACEHOLDER = /\{\{[^{}]*\}\}|\{\s*[A-Za-z_][\w ]{0,30}\}|\[\s*[A-Za-z][\w ]{0,30}\]|<\s*(?:first[_ ]?name|name|link|offer)\s*>/gi;

/*
 * Links. A host is taken from, in order:
 *   - anything with a scheme ("https://", "hxxp://", "ftp://": any `word://`);
 *   - anything starting "www.";
 *   - a dotted name whose last label is 2-24 letters and which is followed by a path
 *     ("prizes.top/x", "claim.example.zip/a"): a path makes it a link whatever the TLD;
 *   - a bare dotted name ending in a common TLD ("bit.ly", "prizes.top"), or an e-mail domain.
 * The TLD list stays compact so that ordinary text ("e.g.", "10.5", "5 p.m.", "Mr.Smith",
 * "St.Louis") is not read as a link: common-word ccTLDs ("in", "it", "be", "no", "at") are
 * left out, and the path rule catches their links anyway.
 */
const TLDS = [
  // generic and the original list
  'com', 'net', 'org', 'edu', 'gov', 'info', 'biz', 'io', 'co', 'ly', 'me', 'app', 'shop', 'store', 'us', 'gl', 'gd',
  'link', 'ai', 'xyz', 'cafe', 'coffee', 'site', 'online', 'page', 'to', 'tv', 'dev', 'pro', 'mobi', 'name', 'asia',
  // new gTLDs common in spam and smishing
  'top', 'club', 'vip', 'win', 'bid', 'click', 'loan', 'work', 'icu', 'buzz', 'live', 'life', 'fun', 'space', 'tech',
  'website', 'sale', 'deals', 'gift', 'gifts', 'promo', 'today', 'world', 'news', 'email', 'cloud', 'digital', 'cyou',
  'sbs', 'cfd', 'monster', 'quest', 'lol', 'bond', 'rest', 'menu', 'zip', 'mov', 'help', 'support', 'guru', 'ink',
  // ccTLDs that are not common words, including those used as URL shorteners
  'uk', 'de', 'fr', 'nl', 'eu', 'ca', 'au', 'nz', 'jp', 'cn', 'ru', 'su', 'br', 'mx', 'ch', 'se', 'pl', 'es', 'cc',
  'ws', 'tk', 'ml', 'ga', 'cf', 'gq', 'pw', 'cm', 'ph', 'ng', 'ms', 'ee', 'im', 'fm', 'gg', 'vc', 'li', 'sh',
];
const TLD_SET = new Set(TLDS);
const LABEL = String.raw`[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?`;
const URL_RE = new RegExp(
  [
    String.raw`\b[a-z][a-z0-9+.-]{0,15}:\/\/([^\s/?#]+)`,
    String.raw`(?<![\w.-])(www\.[^\s/?#]+)`,
    // A dotted name: kept below if a path follows or its TLD is on the list.
    String.raw`(?<![@\w.-])((?:${LABEL}\.)+[a-z]{2,24})(?![\w-])`,
    String.raw`@((?:[a-z0-9-]+\.)+(?:${TLDS.join('|')}))\b`,
  ].join('|'),
  'gi',
);

function linkHosts(text: string): string[] {
  const hosts: string[] = [];
  for (const m of text.matchAll(URL_RE)) {
    if (m[3] !== undefined && text[m.index + m[0].length] !== '/') {
      // "prizes.top.casino" counts too: any label after the first on the list.
      if (!m[3].toLowerCase().split('.').slice(1).some((l) => TLD_SET.has(l))) continue;
    }
    const raw = m.slice(1).find((g) => g !== undefined) ?? '';
    const host = raw
      .toLowerCase()
      .replace(/[.,;:!?'")\]]+$/, '')
      .split('@')
      .pop()!
      .replace(/^www\./, '')
      .replace(/:\d*$/, '')
      .replace(/\.$/, '');
    if (host) hosts.push(host);
  }
  return hosts;
}

/*
 * Phone numbers: North American ones written any usual way, and any international number
 * written with "+" and 8-15 digits ("+44 20 7946 0958", "+33 1 23 45 67 89"). Prices ("$12.50"),
 * percentages ("10% off"), dates and times have no "+" and too few digits for either.
 */
const INTL_PHONE_RE = /(?<![\w+])\+\s?\(?\d(?:[\s.\-()]{0,2}\d){7,14}(?![\d%])/g;
const PHONE_RE = /(?<![\d$.])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?![\d%])/g;

function phoneNumbers(text: string): string[] {
  const out: string[] = [];
  const rest = text.replace(INTL_PHONE_RE, (p) => {
    const digits = p.replace(/\D/g, '');
    // "+1 415 555 0199" is the same number as "(415) 555-0199".
    out.push(digits.length === 11 && digits.startsWith('1') ? digits.slice(1) : `+${digits}`);
    return ' ';
  });
  for (const p of rest.match(PHONE_RE) ?? []) out.push(p.replace(/\D/g, '').slice(-10));
  return out;
}

function allowlist(entries: readonly string[]): { hosts: string[]; phones: string[] } {
  const hosts: string[] = [];
  const phones: string[] = [];
  for (const e of entries) {
    const digits = e.replace(/\D/g, '');
    if (/^[\d\s()+.-]+$/.test(e) && digits.length >= 7) phones.push(digits);
    else {
      const host = e.trim().toLowerCase().replace(/^https?:\/\//, '').replace(/^www\./, '').split(/[/?#:]/)[0];
      if (host) hosts.push(host);
    }
  }
  return { hosts, phones };
}

const bannedCache = new Map<string, RegExp>();

function bannedMatches(text: string, extra: readonly string[]): string[] {
  const key = extra.join('\u0000');
  let re = bannedCache.get(key);
  if (!re) {
    const words = [...DEFAULT_BANNED_WORDS, ...extra].map((w) => w.trim()).filter(Boolean);
    const alternatives = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+'));
    // Whole words, plurals included ("guns", "cigars").
    re = new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives.join('|')})(?:s|es)?(?![\\p{L}\\p{N}])`, 'giu');
    if (bannedCache.size > 100) bannedCache.clear();
    bannedCache.set(key, re);
  }
  return unique((text.match(re) ?? []).map((w) => w.toLowerCase()));
}

/** Offer-like tokens: "10%", "$5", "free", "bogo". */
export function offerTokens(text: string): string[] {
  const tokens: string[] = [];
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)\s*(?:%|percent\b)/gi)) tokens.push(`${Number(m[1])}%`);
  if (/\bhalf[\s-](?:off|price)\b/i.test(text)) tokens.push('50%');
  for (const m of text.matchAll(/\$\s?(\d+(?:,\d{3})*(?:\.\d{1,2})?)/g)) tokens.push(`$${Number(m[1]!.replace(/,/g, ''))}`);
  for (const m of text.matchAll(/(?<![\w-])free(?![\w-])/gi)) {
    const before = text.slice(Math.max(0, m.index - 6), m.index).toLowerCase();
    const after = text.slice(m.index + 4, m.index + 8).toLowerCase();
    // "feel free", "free to ..." are not offers.
    if (!/feel\s+$/.test(before) && !/^\s+to\b/.test(after)) tokens.push('free');
  }
  if (/\b(?:bogo|buy\s+one,?\s+get\s+one)\b/i.test(text)) tokens.push('bogo');
  return tokens;
}

const briefOfferCache = new Map<string, Set<string>>();

/** The offers a brief allows; cached because a batch lints many texts against one brief. */
function briefOffers(text: string): Set<string> {
  let set = briefOfferCache.get(text);
  if (!set) {
    set = new Set(offerTokens(text));
    if (briefOfferCache.size > 100) briefOfferCache.clear();
    briefOfferCache.set(text, set);
  }
  return set;
}

function describeToken(t: string): string {
  return t === 'free' ? '"free"' : t === 'bogo' ? 'buy-one-get-one' : t.endsWith('%') ? `${t} off` : t;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? v : undefined;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
