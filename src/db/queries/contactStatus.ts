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
 * Records a number's opt-out state (an SMS keyword, the carrier's word, or a person's). The last word
 * wins: a STOP after a START opts out again, and the reverse.
 */
export async function setContactStatus(
  q: Queryable,
  r: { phone: string; status: 'opted_out' | 'subscribed'; keyword: string; source: 'sms' | 'provider' | 'manual'; at: Date },
): Promise<void> {
  await q.query(
    `INSERT INTO contact_status (phone, status, keyword, source, updated_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (phone) DO UPDATE SET status = $2, keyword = $3, source = $4, updated_at = $5`,
    [r.phone, r.status, r.keyword, r.source, r.at],
  );
}
