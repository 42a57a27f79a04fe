/**
 * The local outbox provider (the embedded default when Twilio is not configured): "sending"
 * writes the SMS into the sms_outbox table, so tests, the demo and the console's phone
 * panel see exactly what would have gone out. It answers `listSent` from the same table,
 * so reconciliation works the same way as with Twilio.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Queryable } from '../db/database.ts';
import type { OutboundSms, ProviderMessage, SentSms, SmsProvider } from './provider.ts';
import { TEST_SEND_PREFIX } from './providerText.ts';

export interface OutboxOptions {
  /** Simulated provider latency in ms (half before the write, half after): crash tests use it. */
  latencyMs?: number;
}

export class OutboxSmsProvider implements SmsProvider {
  readonly name = 'outbox';
  constructor(
    private readonly q: Queryable,
    private readonly clock: Clock,
    private readonly opts: OutboxOptions = {},
  ) {}

  async send(msg: OutboundSms): Promise<SentSms> {
    const half = (this.opts.latencyMs ?? 0) / 2;
    if (half) await sleep(half);
    const id = `SM${randomBytes(16).toString('hex')}`;
    const at = this.clock.now();
    await this.q.query(
      `INSERT INTO sms_outbox (provider_message_id, to_phone, body, message_id, bubble, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
      [id, msg.to, msg.body, msg.messageId ?? null, msg.bubble ?? 0, at],
    );
    if (half) await sleep(half);
    return { providerMessageId: id, acceptedAt: at, status: 'delivered' };
  }

  async listSent(to: string, since: Date): Promise<ProviderMessage[]> {
    const { rows } = await this.q.query<{ provider_message_id: string; to_phone: string; body: string; status: string; created_at: Date; message_id: number | null }>(
      `SELECT provider_message_id, to_phone, body, status, created_at, message_id FROM sms_outbox
       WHERE to_phone = $1 AND created_at >= $2 ORDER BY created_at, id`,
      [to, since],
    );
    return rows.map((r) => ({
      providerMessageId: r.provider_message_id,
      to: r.to_phone,
      body: r.body,
      status: r.status,
      dateCreated: r.created_at,
      // Neither a campaign message's nor a test send: the answer to a HELP (Twilio's outbound-reply).
      direction: r.message_id === null && !r.body.startsWith(TEST_SEND_PREFIX) ? 'outbound-reply' : 'outbound-api',
    }));
  }
}

export interface PhoneLogEntry {
  direction: 'outbound' | 'inbound';
  phone: string;
  body: string;
  providerMessageId: string;
  messageId: number | null;
  at: Date;
}

/**
 * What the console's phone panel shows: SMS the outbox "sent" and SMS received (inbound),
 * newest first, optionally for one number.
 */
export async function listOutboxMessages(q: Queryable, opts: { phone?: string; limit?: number } = {}): Promise<PhoneLogEntry[]> {
  const { rows } = await q.query<{
    direction: 'outbound' | 'inbound';
    phone: string;
    body: string;
    provider_message_id: string;
    message_id: number | null;
    at: Date;
  }>(
    `SELECT * FROM (
       SELECT 'outbound' AS direction, to_phone AS phone, body, provider_message_id, message_id, created_at AS at, id
       FROM sms_outbox WHERE $1::text IS NULL OR to_phone = $1
       UNION ALL
       SELECT 'inbound', from_phone, body, provider_message_id, message_id, received_at, id
       FROM inbound_messages WHERE $1::text IS NULL OR from_phone = $1
     ) x ORDER BY at DESC, id DESC LIMIT $2`,
    [opts.phone ?? null, opts.limit ?? 100],
  );
  return rows.map((r) => ({
    direction: r.direction,
    phone: r.phone,
    body: r.body,
    providerMessageId: r.provider_message_id,
    messageId: r.message_id === null ? null : Number(r.message_id),
    at: r.at,
  }));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
