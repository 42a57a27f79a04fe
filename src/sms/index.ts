/** Picks the SMS provider: Twilio when configured, else the local outbox. */
import type { AppContext } from '../context.ts';
import { OutboxSmsProvider } from './outbox.ts';
import type { SmsProvider } from './provider.ts';
import { TwilioSmsProvider } from './twilio.ts';

export const STATUS_CALLBACK_PATH = '/twilio/status';
export const INBOUND_PATH = '/twilio/inbound';

export function createSmsProvider(ctx: AppContext): SmsProvider {
  const t = ctx.config.twilio;
  if (!t) return new OutboxSmsProvider(ctx.db.pool, ctx.clock);
  return new TwilioSmsProvider({
    accountSid: t.accountSid,
    authToken: t.authToken,
    messagingServiceSid: t.messagingServiceSid,
    fromNumber: t.fromNumber,
    apiUrl: t.apiUrl,
    statusCallbackUrl: ctx.config.http.publicUrl + STATUS_CALLBACK_PATH,
  });
}
