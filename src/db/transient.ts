/**
 * Failures that say nothing about the work itself: running it again may well succeed. Used
 * for transactions that nobody would send again (a Twilio webhook: Twilio never retries,
 * so a STOP whose transaction met a deadlock or a dropped connection would be lost).
 */
import { coerceError } from '../errors.ts';
import type { Logger } from '../log.ts';

/** After the first failure, 3 more tries with 1.35 s of waits in all (Twilio waits 15 s for an answer). */
export const TRANSIENT_RETRIES = 3;
const BACKOFF_MS = [50, 300, 1000];

/** SQLSTATE codes (and classes) worth another try. */
const TRANSIENT_CODES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '57P01', // admin_shutdown (a server restart)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (the server is starting)
  '53300', // too_many_connections
]);

/** Node socket errors of a connection that went away or could not be made. */
const SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']);

/** node-postgres reports a lost connection and a pool timeout by message only. */
const LOST_CONNECTION = /^Connection terminated|timeout exceeded when trying to connect/;

export function isTransient(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (TRANSIENT_CODES.has(code) || code.startsWith('08') || SOCKET_CODES.has(code))) return true;
  return e instanceof Error && LOST_CONNECTION.test(e.message);
}

/** Runs `once`, and again after a transient failure (see isTransient), at most TRANSIENT_RETRIES more times. */
export async function rerunTransient<T>(once: () => Promise<T>, log: Logger, sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await once();
    } catch (e) {
      if (attempt >= TRANSIENT_RETRIES || !isTransient(e)) throw e;
      log.warn(`a transaction failed for a passing reason; running it again (${attempt + 1} of ${TRANSIENT_RETRIES})`, { err: coerceError(e) });
      await sleep(BACKOFF_MS[attempt]!);
    }
  }
}
