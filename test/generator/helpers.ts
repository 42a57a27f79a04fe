/** Shared by the generator tests: an AppContext over a test database, full customer rows, and batches drafted for exactly them. */
import { randomUUID } from 'node:crypto';
import { ManualClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { AppContext } from '../../src/context.ts';
import type { Database, Queryable } from '../../src/db/database.ts';
import type { GenerateInput } from '../../src/generator/index.ts';
import { silentLogger } from '../../src/log.ts';
import { nextPhone } from '../support/fixtures.ts';

export const WINBACK_BRIEF = 'Win back lapsed regulars. offer: 10% off any drink; tone: friendly; brand: Bean There; signoff: -Sam';

/** "Now" in every generator test: Monday 2 March 2026, 10:00 in Los Angeles. */
export const NOW = '2026-03-02T18:00:00Z';

export function testContext(db: Database, env: Record<string, string> = {}): AppContext {
  return { config: loadConfig({ LOG_LEVEL: 'silent', ...env }), db, log: silentLogger, clock: new ManualClock(NOW) };
}

export interface CustomerSpec {
  name?: string | null;
  phone?: string;
  consent?: 'opted_in' | 'unknown' | 'denied';
  lastVisit?: string | null;
  firstSeen?: string | null;
  visits?: number | null;
  totalSpend?: number | null;
  favorite?: string | null;
  state?: string | null;
  email?: string | null;
  attributes?: Record<string, unknown>;
}

export async function addCustomer(q: Queryable, c: CustomerSpec = {}): Promise<{ id: number; phone: string }> {
  const phone = c.phone ?? nextPhone();
  const { rows } = await q.query<{ id: number }>(
    `INSERT INTO customers (name, phone, consent_status, last_visit_at, first_seen_at, visits, total_spend, favorite_category, state, email, attributes)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
    [
      c.name === undefined ? 'Test Customer' : c.name,
      phone,
      c.consent ?? 'opted_in',
      c.lastVisit ?? null,
      c.firstSeen ?? null,
      c.visits ?? null,
      c.totalSpend ?? null,
      c.favorite ?? null,
      c.state ?? null,
      c.email ?? null,
      JSON.stringify(c.attributes ?? {}),
    ],
  );
  return { id: rows[0]!.id, phone };
}

/** The JSON segment that selects exactly the customers tagged `tag`. */
export function taggedSegment(tag: string): string {
  return JSON.stringify({ all: [{ field: 'attributes.tag', op: '=', value: tag }] });
}

/** Customers under a fresh tag in their attributes (so a test selects only its own), in the order of `specs`. */
export async function addTaggedCustomers(q: Queryable, specs: CustomerSpec[]): Promise<{ tag: string; segment: string; added: { id: number; phone: string }[] }> {
  const tag = randomUUID();
  const added = [];
  for (const s of specs) added.push(await addCustomer(q, { ...s, attributes: { tag, ...(s.attributes ?? {}) } }));
  return { tag, segment: taggedSegment(tag), added };
}

/**
 * Lapsed regulars (last visit 2025-12-01, 6 visits, unless a spec says otherwise) added for one test,
 * and what dana asks on the command line to draft a batch for exactly them: campaign `${campaignPrefix}-…`, the win-back brief.
 */
export async function lapsedRegularsToDraft(
  q: Queryable,
  campaignPrefix: string,
  specs: CustomerSpec[],
  over: Partial<GenerateInput> = {},
): Promise<{ added: { id: number; phone: string }[]; input: GenerateInput }> {
  const { tag, segment, added } = await addTaggedCustomers(q, specs.map((s) => ({ lastVisit: '2025-12-01', visits: 6, ...s })));
  return { added, input: { campaign: `${campaignPrefix}-${tag.slice(0, 8)}`, segment, brief: WINBACK_BRIEF, actor: 'dana', surface: 'cli', ...over } };
}

/** Every column of a batch's messages, in the order they were written. */
export async function batchMessages(q: Queryable, batchId: number) {
  const { rows } = await q.query('SELECT * FROM campaign_messages WHERE batch_id = $1 ORDER BY id', [batchId]);
  return rows;
}
