/** Plain-SQL builders for analytics tests: messages with explicit timestamps, batches, inbound texts. */
import type { Queryable } from '../../src/db/database.ts';
import type { MessageStatus } from '../../src/domain/messageStatus.ts';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export async function seedBatch(q: Queryable, campaignId: number, segmentSpec = 'all', createdAt = new Date('2026-11-01T00:00:00Z')): Promise<number> {
  const { rows } = await q.query<{ id: number }>(
    `INSERT INTO batches (campaign_id, segment_spec, generator, created_at) VALUES ($1, $2, 'templates', $3) RETURNING id`,
    [campaignId, segmentSpec, createdAt],
  );
  return rows[0]!.id;
}

let providerSeq = 0;

export interface SeedMessage {
  campaignId: number;
  phone: string;
  status: MessageStatus;
  batchId?: number;
  variant?: string;
  suggestedAt?: Date;
  approvedAt?: Date;
  editedAt?: Date;
  sentAt?: Date;
  segments?: number;
  /** Default: set for sent/delivered/undelivered. */
  providerId?: string | null;
}

export async function seedMessage(q: Queryable, m: SeedMessage): Promise<number> {
  const accepted = ['sent', 'delivered', 'undelivered'].includes(m.status);
  const providerId = m.providerId !== undefined ? m.providerId : accepted ? `SMseed${++providerSeq}x${process.pid}` : null;
  const { rows } = await q.query<{ id: number }>(
    `INSERT INTO campaign_messages (campaign_id, batch_id, phone, body, status, variant, suggested_at, approved_by, approved_at,
                                    edited_by, edited_at, sent_at, segments, provider_message_id)
     VALUES ($1, $2, $3, 'Hi! Reply STOP to opt out', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
    [
      m.campaignId, m.batchId ?? null, m.phone, m.status, m.variant ?? null, m.suggestedAt ?? new Date('2026-11-01T00:00:00Z'),
      m.approvedAt ? 'dana' : null, m.approvedAt ?? null, m.editedAt ? 'dana' : null, m.editedAt ?? null, m.sentAt ?? null,
      m.segments ?? 1, providerId,
    ],
  );
  return rows[0]!.id;
}

let inboundSeq = 0;

export async function seedInbound(
  q: Queryable,
  i: { phone: string; at: Date; kind?: 'reply' | 'stop' | 'start' | 'help'; body?: string; storedMessageId?: number },
): Promise<void> {
  const kind = i.kind ?? 'reply';
  await q.query(
    `INSERT INTO inbound_messages (provider_message_id, from_phone, body, kind, message_id, received_at)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [`SMin${++inboundSeq}x${process.pid}`, i.phone, i.body ?? (kind === 'stop' ? 'STOP' : 'Sounds good'), kind, i.storedMessageId ?? null, i.at],
  );
}

/**
 * `n` sent messages of one variant (phones `prefix` + 6 digits from `first`), the first
 * `replied` of them answered once and the next `stopped` answered with STOP.
 */
export async function seedArm(
  q: Queryable,
  a: { campaignId: number; variant: string; prefix: string; first: number; n: number; replied: number; stopped: number; sentAt: Date },
): Promise<void> {
  await q.query(
    `INSERT INTO campaign_messages (campaign_id, phone, body, status, variant, approved_by, approved_at, sent_at, provider_message_id)
     SELECT $1, $2::text || lpad((g + $3::int)::text, 6, '0'), 'Hi', 'delivered', $4, 'dana', $5, $5, 'SMarm' || $2::text || (g + $3::int)
     FROM generate_series(0, $6::int - 1) g`,
    [a.campaignId, a.prefix, a.first, a.variant, a.sentAt, a.n],
  );
  await q.query(
    `INSERT INTO inbound_messages (provider_message_id, from_phone, body, kind, received_at)
     SELECT 'SMarmin' || $1::text || (g + $2::int), $1::text || lpad((g + $2::int)::text, 6, '0'),
            CASE WHEN g < $3::int THEN 'Yes please' ELSE 'STOP' END, CASE WHEN g < $3::int THEN 'reply' ELSE 'stop' END, $5
     FROM generate_series(0, $3::int + $4::int - 1) g`,
    [a.prefix, a.first, a.replied, a.stopped, new Date(a.sentAt.getTime() + HOUR)],
  );
}
