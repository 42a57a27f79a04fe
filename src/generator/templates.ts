/**
 * The template library: the generator when there is no OpenAI key (or `--generator templates`).
 * Several variants per campaign type; a variant is eligible when every variable it needs
 * is known for this customer, and the choice among eligible variants is a hash of
 * (seed, customer id): the same seed gives the same batch.
 */
import type { CampaignBrief } from './brief.ts';
import type { CustomerFacts } from './context.ts';
import type { CampaignType } from './segments.ts';

type Var = 'name' | 'brand' | 'offer' | 'favorite' | 'days' | 'visits';

export interface Template {
  id: string;
  text: string;
  /** Variables that must be known; {{firstName}} alone falls back to "there". */
  needs: Var[];
}

const t = (id: string, needs: Var[], text: string): Template => ({ id, needs, text });

/** Plain GSM-7 text only (no curly quotes or dashes): one SMS segment costs 160 characters, not 70. */
export const TEMPLATES: Readonly<Record<CampaignType, readonly Template[]>> = {
  retention: [
    t('retention-1', ['brand', 'offer'], "Hi {{firstName}}, we miss you at {{brand}}! It's been a while - come back this week for {{offer}}."),
    t('retention-2', ['brand', 'favorite', 'offer'], 'Hi {{firstName}}! Your usual {{favorite}} is waiting at {{brand}}. Stop by this week and enjoy {{offer}}.'),
    t('retention-3', ['name', 'days', 'brand', 'offer'], "{{firstName}}, it's been {{days}} days! Come see us at {{brand}} and get {{offer}} on your next visit."),
    t('retention-4', ['offer'], 'Hi {{firstName}}, we miss you! Come back this week for {{offer}}.'),
    t('retention-5', ['brand'], "Hi {{firstName}}, we miss you at {{brand}}! Stop by soon - we'd love to see you again."),
    t('retention-6', ['brand', 'favorite'], "Hi {{firstName}}! Craving {{favorite}}? It's been a while - come say hi at {{brand}} this week."),
    t('retention-7', [], "Hi {{firstName}}, it's been a while! We'd love to see you again soon."),
  ],
  welcome: [
    t('welcome-1', ['name', 'brand', 'offer'], 'Welcome, {{firstName}}! Thanks for visiting {{brand}}. Enjoy {{offer}} on your next visit.'),
    t('welcome-2', ['brand', 'offer'], 'Hi {{firstName}}, great to meet you at {{brand}}! Come back soon for {{offer}}.'),
    t('welcome-3', ['offer'], 'Hi {{firstName}}, thanks for stopping by! Enjoy {{offer}} on your next visit.'),
    t('welcome-4', ['name', 'brand'], "Welcome to {{brand}}, {{firstName}}! We're glad you found us - see you again soon."),
    t('welcome-5', [], 'Hi {{firstName}}, thanks for stopping by! We hope to see you again soon.'),
  ],
  vip: [
    t('vip-1', ['name', 'brand', 'offer'], "{{firstName}}, you're one of our favourite regulars at {{brand}}! As a thank-you, enjoy {{offer}} this week."),
    t('vip-2', ['visits', 'offer'], "Hi {{firstName}}, {{visits}} visits and counting - thank you! Enjoy {{offer}} next time you're in."),
    t('vip-3', ['offer'], 'Hi {{firstName}}, as a thank-you for being a regular, enjoy {{offer}} this week.'),
    t('vip-4', ['brand'], 'Hi {{firstName}}, thank you for being one of our best customers at {{brand}}. We appreciate you!'),
    t('vip-5', [], 'Hi {{firstName}}, thank you for being one of our best customers. We appreciate you!'),
  ],
  reminder: [
    t('reminder-1', ['brand', 'offer'], 'Hi {{firstName}}, a friendly reminder that {{offer}} is waiting for you at {{brand}}.'),
    t('reminder-2', ['offer'], "Hi {{firstName}}, don't forget: {{offer}} is waiting for you!"),
    t('reminder-3', ['brand'], "Hi {{firstName}}, a friendly reminder from {{brand}}: we'd love to see you this week!"),
    t('reminder-4', [], "Hi {{firstName}}, just a friendly reminder - we'd love to see you again soon!"),
  ],
  feedback: [
    t('feedback-1', ['brand', 'offer'], 'Hi {{firstName}}, thanks for visiting {{brand}}! Tell us how we did and enjoy {{offer}} next time.'),
    t('feedback-2', ['offer'], 'Hi {{firstName}}, how was your last visit? Reply and tell us - and enjoy {{offer}} next time.'),
    t('feedback-3', ['brand', 'favorite'], 'Hi {{firstName}}, thanks for visiting {{brand}}! How was your {{favorite}}? Just reply to this text.'),
    t('feedback-4', ['brand'], 'Hi {{firstName}}, how are we doing at {{brand}}? Reply with a number from 1 to 5 - it helps us improve.'),
    t('feedback-5', [], 'Hi {{firstName}}, how was your last visit? Reply to this text - we read every answer.'),
  ],
};

export interface TemplateSuggestion {
  body: string;
  variant: string;
  rationale: string;
}

/** Picks and renders this customer's variant. Deterministic in (seed, customerId). */
export function templateSuggestion(
  type: CampaignType,
  brief: CampaignBrief,
  facts: CustomerFacts,
  customerId: number,
  seed: number,
): TemplateSuggestion {
  const vars = templateVariables(brief, facts);
  const known = (v: Var) => vars[v] !== undefined;
  const eligible = TEMPLATES[type].filter((tpl) => tpl.needs.every(known));
  // With an offer in the brief, the offer is the point: prefer variants that carry it.
  const withOffer = eligible.filter((tpl) => tpl.needs.includes('offer'));
  const pool = withOffer.length ? withOffer : eligible;
  const tpl = pool[hash32(`${seed}:${customerId}`) % pool.length]!;
  let body = renderTemplate(tpl.text, {
    firstName: vars.name ?? 'there',
    brand: vars.brand,
    offer: vars.offer,
    favorite: vars.favorite,
    days: vars.days,
    visits: vars.visits,
  });
  if (brief.signoff) body = `${body} ${brief.signoff}`;
  return { body, variant: tpl.id, rationale: templateRationale(type, tpl, facts) };
}

/** Replaces {{name}} with its value; unknown names stay as they are (the lint flags them). */
export function renderTemplate(text: string, values: Record<string, string | undefined>): string {
  return text.replace(/\{\{\s*(\w+)\s*\}\}/g, (whole, name: string) => values[name] ?? whole);
}

function templateVariables(brief: CampaignBrief, f: CustomerFacts): Partial<Record<Var, string>> {
  return {
    name: f.firstName ?? undefined,
    brand: brief.brand && brief.brand.length <= 40 ? brief.brand : undefined,
    offer: brief.offer && brief.offer.length <= 60 ? brief.offer : undefined,
    favorite: f.favoriteCategory && f.favoriteCategory.length <= 30 ? f.favoriteCategory : undefined,
    days: f.daysSinceLastVisit !== null && f.daysSinceLastVisit >= 14 ? String(f.daysSinceLastVisit) : undefined,
    visits: f.visits !== null && f.visits >= 5 ? String(f.visits) : undefined,
  };
}

function templateRationale(type: CampaignType, tpl: Template, f: CustomerFacts): string {
  const why: string[] = [];
  if (f.daysSinceLastVisit !== null) why.push(`last visit ${f.daysSinceLastVisit} days ago`);
  if (f.visits !== null) why.push(`${f.visits} visits`);
  if (tpl.needs.includes('favorite') && f.favoriteCategory) why.push(`favourite ${f.favoriteCategory}`);
  return `${type} template ${tpl.id}${why.length ? `: ${why.join(', ')}` : ''}`;
}

/** FNV-1a: a small, stable string hash (the same on every platform and run). */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
