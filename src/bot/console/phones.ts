/**
 * The phone panel: what the local outbox provider "sent" to each number, next to what
 * that number answered, and the reply box that answers as the customer through
 * handleInboundSms (the very path a verified Twilio webhook takes).
 */
import { randomBytes } from 'node:crypto';
import type { AppContext } from '../../context.ts';
import { coerceError } from '../../errors.ts';
import { handleInboundSms } from '../../sms/inbound.ts';
import { listOutboxMessages } from '../../sms/outbox.ts';
import type { ConsoleEvents } from './events.ts';
import { optedOutPhones } from '../../db/queries/contactStatus.ts';
import { customerNamesByPhone, phoneLogFingerprint } from './queries.ts';

/** The most phone-log entries (sent and received) the panel reads, the newest. */
const PANEL_LIMIT = 1000;

export interface PhoneMessage {
  direction: 'out' | 'in';
  body: string;
  at: Date;
}

export interface PhoneView {
  phone: string;
  name: string | null;
  optedOut: boolean;
  messages: PhoneMessage[];
}

/** Every number the outbox has sent to, in order of its first text, each with its conversation. */
export async function listPhones(ctx: AppContext): Promise<PhoneView[]> {
  const q = ctx.db.pool;
  const log = (await listOutboxMessages(q, { limit: PANEL_LIMIT })).reverse(); // oldest first
  const byPhone = new Map<string, PhoneMessage[]>();
  for (const m of log) {
    const list = byPhone.get(m.phone);
    // A number appears once something was sent to it; a text from a stranger is not a phone of ours.
    if (!list && m.direction === 'inbound') continue;
    const entry: PhoneMessage = { direction: m.direction === 'outbound' ? 'out' : 'in', body: m.body, at: m.at };
    if (list) list.push(entry);
    else byPhone.set(m.phone, [entry]);
  }
  const phones = [...byPhone.keys()];
  const [names, optedOut] = await Promise.all([customerNamesByPhone(q, phones), optedOutPhones(q, phones)]);
  return phones.map((phone) => ({
    phone,
    name: names.get(phone) ?? null,
    optedOut: optedOut.has(phone),
    messages: byPhone.get(phone)!,
  }));
}

/** Answers as the customer at `phone`: one inbound SMS through the shared inbound path. */
export async function replyFromPhone(ctx: AppContext, phone: string, body: string): Promise<{ message: string; kind: string }> {
  const result = await handleInboundSms(ctx, {
    providerMessageId: `SMconsole${randomBytes(12).toString('hex')}`,
    from: phone,
    to: ctx.config.twilio?.fromNumber ?? null,
    body,
  });
  const what =
    result.kind === 'stop'
      ? `${phone} opted out${result.cancelled ? `; ${result.cancelled} pending message${result.cancelled === 1 ? '' : 's'} cancelled` : ''}.`
      : result.kind === 'start'
        ? `${phone} is subscribed again.`
        : result.kind === 'help'
          ? `${phone} asked for help and was answered.`
          : `Reply from ${phone} received.`;
  return { message: what, kind: result.kind };
}

/**
 * Tells open browsers when the phone panel changed (a send, a reply): checks a cheap
 * fingerprint every `everyMs` and announces a change while anyone is listening.
 */
export function watchPhones(ctx: AppContext, events: ConsoleEvents, everyMs = 1000): { stop(): Promise<void> } {
  let last: string | undefined;
  let inflight: Promise<void> | undefined;
  const read = async () => {
    try {
      const fingerprint = await phoneLogFingerprint(ctx.db.pool);
      if (last !== undefined && fingerprint !== last && events.streamCount > 0) events.publish({ type: 'phones' });
      last = fingerprint;
    } catch (e) {
      ctx.log.warn('console phone watcher could not read the outbox', { err: coerceError(e) });
    }
  };
  const check = () => {
    inflight ??= read().finally(() => (inflight = undefined));
  };
  check(); // the baseline, taken at once
  const timer = setInterval(check, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await inflight;
    },
  };
}
