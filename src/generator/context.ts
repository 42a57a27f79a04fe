/**
 * Why this customer: the facts behind a suggestion. The same facts feed the template
 * library, the model's data block and the card (campaign_messages.customer_context, stored
 * as an ordered list of { label, value } so every surface renders it as is).
 */

/** A customer as the generator reads it (see queries.ts: selectAudience). */
export interface AudienceCustomer {
  id: number;
  name: string | null;
  phone: string;
  state: string | null;
  timezone: string | null;
  favorite_category: string | null;
  visits: number | null;
  total_spend: number | null;
  last_visit_at: string | null;
  first_seen_at: string | null;
  days_since_last_visit: number | null;
  days_since_first_seen: number | null;
  attributes: Record<string, unknown>;
}

export interface CustomerFacts {
  firstName: string | null;
  fullName: string | null;
  daysSinceLastVisit: number | null;
  daysSinceFirstSeen: number | null;
  visits: number | null;
  totalSpend: number | null;
  averageSpend: number | null;
  favoriteCategory: string | null;
  state: string | null;
}

export type ContextItem = { label: string; value: string };

export function customerFacts(c: AudienceCustomer): CustomerFacts {
  const fullName = c.name?.trim() || null;
  const first = fullName?.split(/\s+/)[0] ?? null;
  return {
    firstName: first && /^[\p{L}'-]{1,30}$/u.test(first) ? first : null,
    fullName,
    daysSinceLastVisit: c.days_since_last_visit,
    daysSinceFirstSeen: c.days_since_first_seen,
    visits: c.visits,
    totalSpend: c.total_spend,
    averageSpend: c.total_spend !== null && c.visits ? Math.round((c.total_spend / c.visits) * 100) / 100 : null,
    favoriteCategory: c.favorite_category?.trim() || null,
    state: c.state,
  };
}

/** The card's "why this customer", in display order; absent facts are left out. */
export function contextItems(f: CustomerFacts): ContextItem[] {
  const items: ContextItem[] = [];
  if (f.daysSinceLastVisit !== null) items.push({ label: 'Last visit', value: daysAgo(f.daysSinceLastVisit) });
  if (f.visits !== null) items.push({ label: 'Visits', value: String(f.visits) });
  if (f.favoriteCategory) items.push({ label: 'Favourite', value: f.favoriteCategory.slice(0, 60) });
  if (f.averageSpend !== null) items.push({ label: 'Avg spend', value: `$${f.averageSpend.toFixed(2)}` });
  if (f.totalSpend !== null) items.push({ label: 'Total spend', value: `$${f.totalSpend.toFixed(2)}` });
  if (f.daysSinceFirstSeen !== null) items.push({ label: 'Customer since', value: daysAgo(f.daysSinceFirstSeen) });
  return items;
}

/** Reads a stored customer_context back (tolerates an object of label -> value too). */
export function parseCustomerContext(json: unknown): ContextItem[] {
  if (Array.isArray(json)) {
    return json
      .filter((x): x is { label: unknown; value: unknown } => !!x && typeof x === 'object' && 'label' in x && 'value' in x)
      .map((x) => ({ label: String(x.label), value: String(x.value) }));
  }
  if (json && typeof json === 'object') return Object.entries(json).map(([label, value]) => ({ label, value: String(value) }));
  return [];
}

function daysAgo(days: number): string {
  if (days <= 0) return 'today';
  if (days === 1) return 'yesterday';
  return `${days} days ago`;
}
