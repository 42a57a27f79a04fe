/** Opt-out state of phone numbers (contact_status). */
import type { Queryable } from '../database.ts';

/** The numbers among `phones` that have opted out. */
export async function optedOutPhones(q: Queryable, phones: string[]): Promise<Set<string>> {
  if (phones.length === 0) return new Set();
  const { rows } = await q.query<{ phone: string }>(
    `SELECT phone FROM contact_status WHERE phone = ANY($1::text[]) AND status = 'opted_out'`,
    [phones],
  );
  return new Set(rows.map((r) => r.phone));
}

/**
 * Records a number's opt-out state (an SMS keyword or the carrier's word). The last word
 * wins: a STOP after a START opts out again, and the reverse.
 */
export async function setContactStatus(
  q: Queryable,
  r: { phone: string; status: 'opted_out' | 'subscribed'; keyword: string; source: 'sms' | 'provider'; at: Date },
): Promise<void> {
  await q.query(
    `INSERT INTO contact_status (phone, status, keyword, source, updated_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (phone) DO UPDATE SET status = $2, keyword = $3, source = $4, updated_at = $5`,
    [r.phone, r.status, r.keyword, r.source, r.at],
  );
}

/**
 * Opts a number out unless it already is (an opt-out recorded by a person). Returns its
 * status before, or undefined when it was already opted out. One statement: of two at once,
 * the second waits for the first's row and finds it opted out.
 */
export async function optOutUnlessOptedOut(q: Queryable, phone: string, at: Date): Promise<{ before: string | null } | undefined> {
  const { rows } = await q.query<{ before: string | null }>(
    `WITH old AS (SELECT status FROM contact_status WHERE phone = $1)
     INSERT INTO contact_status (phone, status, keyword, source, updated_at) VALUES ($1, 'opted_out', 'manual', 'manual', $2)
     ON CONFLICT (phone) DO UPDATE SET status = 'opted_out', keyword = 'manual', source = 'manual', updated_at = $2
       WHERE contact_status.status <> 'opted_out'
     RETURNING (SELECT status FROM old) AS before`,
    [phone, at],
  );
  return rows[0];
}
