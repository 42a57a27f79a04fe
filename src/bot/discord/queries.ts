/** Discord interaction ids already handled (sql/0008_discord_interactions.sql). */
import type { Queryable } from '../../db/database.ts';

/**
 * Records an interaction id; true the first time, false for an id seen before
 * (side effect: one insert; ids older than a day are pruned every so often).
 */
export async function claimInteraction(q: Queryable, id: string, kind: string): Promise<boolean> {
  const { rowCount } = await q.query(
    'INSERT INTO discord_interactions (id, kind) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING',
    [id, kind],
  );
  return rowCount === 1;
}

/** Forgets ids older than a day: interaction tokens expire after 15 minutes, nothing older can come back. */
export async function pruneInteractions(q: Queryable): Promise<number> {
  const { rowCount } = await q.query(`DELETE FROM discord_interactions WHERE received_at < now() - interval '1 day'`);
  return rowCount ?? 0;
}
