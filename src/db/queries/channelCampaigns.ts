import type { Queryable } from '../database.ts';

/** Campaigns still running (draft, active, paused) that live in `channel` on `surface`. */
export async function openCampaignsInChannel(q: Queryable, surface: string, channel: string): Promise<{ id: number; name: string }[]> {
  const { rows } = await q.query<{ id: number; name: string }>(
    `SELECT id, name FROM campaigns
     WHERE chat_surface = $1 AND chat_channel = $2 AND status IN ('draft', 'active', 'paused')
     ORDER BY created_at, id`,
    [surface, channel],
  );
  return rows;
}
