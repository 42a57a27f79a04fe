/** Builders for rows the tests need, written with plain SQL (no production code under test here). */
import type { Queryable } from '../../src/db/database.ts';
import type { MessageStatus } from '../../src/domain/messageStatus.ts';

let seq = 0;
/** A unique, valid US mobile number per call. */
export function nextPhone(): string {
  seq++;
  return `+1415${String(2000000 + ((process.pid * 7919 + seq) % 7000000)).padStart(7, '0')}`;
}

export async function insertCampaign(
  q: Queryable,
  c: { name: string; status?: string; settings?: Record<string, unknown>; chatSurface?: string; chatChannel?: string },
): Promise<number> {
  const { rows } = await q.query<{ id: number }>(
    `INSERT INTO campaigns (name, status, settings, chat_surface, chat_channel) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [c.name, c.status ?? 'active', JSON.stringify(c.settings ?? {}), c.chatSurface ?? 'console', c.chatChannel ?? 'console'],
  );
  return rows[0]!.id;
}

export async function insertCustomer(
  q: Queryable,
  c: { name?: string; phone?: string; consent?: string; attributes?: Record<string, unknown>; lastVisit?: string; timezone?: string; state?: string } = {},
): Promise<{ id: number; phone: string }> {
  const phone = c.phone ?? nextPhone();
  const { rows } = await q.query<{ id: number }>(
    `INSERT INTO customers (name, phone, consent_status, attributes, last_visit_at, timezone, state)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [c.name ?? 'Test Customer', phone, c.consent ?? 'opted_in', JSON.stringify(c.attributes ?? {}), c.lastVisit ?? null, c.timezone ?? null, c.state ?? null],
  );
  return { id: rows[0]!.id, phone };
}

const APPROVED_FAMILY: MessageStatus[] = ['approved', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'unknown'];

/** A message put directly into `status`, with whatever columns that status requires. */
export async function insertMessage(
  q: Queryable,
  m: { campaignId: number; status: MessageStatus; phone?: string; body?: string; batchId?: number; customerId?: number; scheduledAt?: Date },
): Promise<number> {
  const approved = APPROVED_FAMILY.includes(m.status);
  const { rows } = await q.query<{ id: number }>(
    `INSERT INTO campaign_messages (campaign_id, batch_id, customer_id, phone, body, status, approved_by, approved_at,
                                    provider_message_id, scheduled_send_time)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
    [
      m.campaignId,
      m.batchId ?? null,
      m.customerId ?? null,
      m.phone ?? nextPhone(),
      m.body ?? 'Hi! We miss you. Reply STOP to opt out',
      m.status,
      approved ? 'fixture' : null,
      approved ? new Date() : null,
      ['sent', 'delivered', 'undelivered'].includes(m.status) ? `SMfixture${Math.random().toString(36).slice(2)}` : null,
      m.scheduledAt ?? null,
    ],
  );
  return rows[0]!.id;
}
