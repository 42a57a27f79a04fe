/** Shared by the generator tests: an AppContext over a test database, and full customer rows. */
import { ManualClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { AppContext } from '../../src/context.ts';
import type { Database, Queryable } from '../../src/db/database.ts';
import { silentLogger } from '../../src/log.ts';
import { nextPhone } from '../support/fixtures.ts';

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
