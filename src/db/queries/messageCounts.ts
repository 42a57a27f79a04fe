import type { MessageStatus } from '../../domain/messageStatus.ts';
import type { Queryable } from '../database.ts';

export interface CampaignCounts {
  campaignId: number;
  name: string;
  status: string;
  counts: Partial<Record<MessageStatus, number>>;
  total: number;
  nextSendAt: Date | null;
  lastSendAt: Date | null;
}

/** Message counts by status for every campaign (or one, by name). */
export async function campaignCounts(q: Queryable, campaignName?: string): Promise<CampaignCounts[]> {
  const { rows } = await q.query<{
    id: number;
    name: string;
    status: string;
    counts: Record<string, number> | null;
    next_send: Date | null;
    last_send: Date | null;
  }>(
    `SELECT c.id, c.name, c.status,
            (SELECT jsonb_object_agg(s.status, s.n) FROM (
               SELECT status, count(*)::int AS n FROM campaign_messages m WHERE m.campaign_id = c.id GROUP BY status) s) AS counts,
            (SELECT min(scheduled_send_time) FROM campaign_messages m WHERE m.campaign_id = c.id AND m.status = 'approved') AS next_send,
            (SELECT max(scheduled_send_time) FROM campaign_messages m WHERE m.campaign_id = c.id AND m.status = 'approved') AS last_send
     FROM campaigns c
     WHERE ($1::text IS NULL OR lower(c.name) = lower($1))
     ORDER BY c.created_at, c.id`,
    [campaignName ?? null],
  );
  return rows.map((r) => {
    const counts = (r.counts ?? {}) as Partial<Record<MessageStatus, number>>;
    return {
      campaignId: r.id,
      name: r.name,
      status: r.status,
      counts,
      total: Object.values(counts).reduce((a, b) => a + (b ?? 0), 0),
      nextSendAt: r.next_send,
      lastSendAt: r.last_send,
    };
  });
}
