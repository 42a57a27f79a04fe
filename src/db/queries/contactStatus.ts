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
