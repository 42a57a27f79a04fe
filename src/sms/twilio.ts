/**
 * Twilio through its official client. `apiUrl` (TWILIO_API_URL) points the real client at
 * another base address (a proxy, or the local test peer): the client builds every REST
 * URL from its `api` domain's `baseUrl`, so replacing that one property is enough.
 */
import twilio from 'twilio';
import type { OutboundSms, ProviderMessage, SentSms, SmsProvider } from './provider.ts';
import { SmsSendError } from './provider.ts';

export interface TwilioOptions {
  accountSid: string;
  authToken: string;
  messagingServiceSid?: string | undefined;
  fromNumber?: string | undefined;
  apiUrl?: string | undefined;
  /** Where Twilio posts delivery statuses: PUBLIC_URL + /twilio/status. */
  statusCallbackUrl?: string | undefined;
  /** Per-request timeout; keep it well under the dispatcher's sending lease. */
  timeoutMs?: number;
}

/** Twilio error codes meaning "this number opted out" (21610: attempt to send to an unsubscribed recipient). */
const OPTED_OUT_CODES = new Set([21610]);

export class TwilioSmsProvider implements SmsProvider {
  readonly name = 'twilio';
  private readonly client: twilio.Twilio;

  constructor(private readonly opts: TwilioOptions) {
    if (!opts.messagingServiceSid && !opts.fromNumber) {
      throw new Error('Twilio needs a Messaging Service SID or a from-number');
    }
    this.client = twilio(opts.accountSid, opts.authToken, { timeout: opts.timeoutMs ?? 30_000, autoRetry: false });
    if (opts.apiUrl) this.client.api.baseUrl = opts.apiUrl;
  }

  async send(msg: OutboundSms): Promise<SentSms> {
    try {
      const m = await this.client.messages.create({
        to: msg.to,
        body: msg.body,
        ...(this.opts.messagingServiceSid ? { messagingServiceSid: this.opts.messagingServiceSid } : { from: this.opts.fromNumber! }),
        ...(this.opts.statusCallbackUrl ? { statusCallback: this.opts.statusCallbackUrl } : {}),
      });
      return { providerMessageId: m.sid, acceptedAt: m.dateCreated ?? new Date(), status: m.status };
    } catch (e) {
      throw classifyTwilioError(e);
    }
  }

  async listSent(to: string, since: Date): Promise<ProviderMessage[]> {
    // DateSent filters by day on Twilio's side: ask from the day before, then filter exactly.
    const list = await this.client.messages.list({ to, dateSentAfter: new Date(since.getTime() - 86_400_000), limit: 500 });
    return list
      .filter((m) => (m.dateCreated ?? m.dateSent ?? new Date(0)).getTime() >= since.getTime())
      .map((m) => ({
        providerMessageId: m.sid,
        to: m.to,
        body: m.body,
        status: m.status,
        dateCreated: m.dateCreated ?? m.dateSent,
        direction: m.direction,
      }));
  }
}

/**
 * Twilio's answer -> what the dispatcher must do. Only an explicit 4xx with an error code
 * proves the message was refused; 429, 5xx, auth trouble and transport errors might hide
 * an accepted message, so they are 'unknown' and get reconciled, never blindly retried.
 */
export function classifyTwilioError(e: unknown): SmsSendError {
  const err = e as { status?: number; code?: number | string; message?: string };
  const status = typeof err?.status === 'number' ? err.status : undefined;
  const code = typeof err?.code === 'number' ? err.code : undefined;
  const message = err?.message ?? String(e);
  if (code !== undefined && OPTED_OUT_CODES.has(code)) return new SmsSendError('opted_out', String(code), message, { cause: e });
  if (status !== undefined && status >= 400 && status < 500 && ![401, 403, 408, 409, 429].includes(status)) {
    return new SmsSendError('permanent', code !== undefined ? String(code) : `http_${status}`, message, { cause: e });
  }
  const transport = typeof err?.code === 'string' ? err.code : status !== undefined ? `http_${status}` : undefined;
  return new SmsSendError('unknown', transport, message, { cause: e });
}
