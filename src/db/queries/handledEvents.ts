/** Inbound platform events already acted on (sql/0010_handled_events.sql). */
import type { Queryable } from '../database.ts';

export type EventSource = 'discord' | 'slack';

/**
 * Records an event id; true the first time, false for an id seen before, also across
 * restarts and instances (side effect: one insert).
 */
export async function claimEvent(q: Queryable, source: EventSource, id: string, kind: string): Promise<boolean> {
  const { rowCount } = await q.query(
    'INSERT INTO handled_events (source, id, kind) VALUES ($1, $2, $3) ON CONFLICT (source, id) DO NOTHING',
    [source, id, kind],
  );
  return rowCount === 1;
}

/**
 * Forgets ids older than a day: nothing that old comes back (a Discord interaction token
 * lives 15 minutes; Slack gives up redelivering an event within the hour).
 */
export async function pruneHandledEvents(q: Queryable): Promise<number> {
  const { rowCount } = await q.query(`DELETE FROM handled_events WHERE received_at < now() - interval '1 day'`);
  return rowCount ?? 0;
}
