/** Shared set-up for scheduler tests: a context with a manual clock and config from a test environment. */
import { ManualClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { AppContext } from '../../src/context.ts';
import type { Database } from '../../src/db/database.ts';
import { silentLogger } from '../../src/log.ts';

/** A Wednesday 17:00 UTC = 10:00 in Los Angeles, 13:00 in New York: inside every default window. */
export const WEDNESDAY_10AM_LA = '2025-07-16T17:00:00.000Z';

export function testContext(db: Database, env: Record<string, string> = {}, start: string = WEDNESDAY_10AM_LA): AppContext & { clock: ManualClock } {
  const config = loadConfig({ LOG_LEVEL: 'silent', ...env });
  return { config, db, log: silentLogger, clock: new ManualClock(start) };
}

export async function statusOf(db: Database, id: number): Promise<{ status: string; attempts: number; provider_message_id: string | null; extra_provider_ids: string[]; last_error: string | null; error_code: string | null; scheduled_send_time: Date | null }> {
  const { rows } = await db.pool.query(
    'SELECT status, attempts, provider_message_id, extra_provider_ids, last_error, error_code, scheduled_send_time FROM campaign_messages WHERE id = $1',
    [id],
  );
  return rows[0];
}

export async function outboxFor(db: Database, phone: string): Promise<{ body: string; message_id: number | null }[]> {
  const { rows } = await db.pool.query('SELECT body, message_id FROM sms_outbox WHERE to_phone = $1 ORDER BY id', [phone]);
  return rows;
}
