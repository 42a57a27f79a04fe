/**
 * Inbound SMS, from the Twilio webhook or the console's reply box. Opt-outs come first:
 * STOP records the opt-out and cancels every pending message to that number in every
 * campaign in one transaction, before anything is posted anywhere. Each inbound SMS is
 * handled once per provider id, so a retried webhook changes nothing; that transaction is
 * run again after a passing failure (Twilio never sends a webhook twice by itself).
 */
import { attributeReply } from '../analytics/attribution.ts';
import type { ChatMessage } from '../bot/chatSurface.ts';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/database.ts';
import { setContactStatus } from '../db/queries/contactStatus.ts';
import { transitionMessages } from '../db/queries/transition.ts';
import { classifyInbound, looksLikeOptOut, type InboundKind } from '../domain/keywords.ts';
import { PENDING_STATUSES } from '../domain/messageStatus.ts';
import { maskPhone } from '../domain/phone.ts';
import { enqueueCards, enqueueProgress, postToThread } from '../scheduler/posts.ts';
import { OutboxSmsProvider } from './outbox.ts';
import { latestMessageTo, lockPendingTo, recordInboundMessage } from './queries.ts';

export interface InboundSms {
  providerMessageId: string;
  from: string;
  to?: string | null;
  body: string;
}

export interface InboundResult {
  kind: InboundKind;
  /** Already handled (a retried webhook): nothing changed this time. */
  duplicate: boolean;
  /** Text to answer the sender with (HELP), for the webhook's TwiML. */
  reply: string | null;
  /** The campaign message this SMS is attributed to (latest sent to that number within the attribution window). */
  messageId: number | null;
  /** Pending messages cancelled by a STOP. */
  cancelled: number;
  likelyOptOut: boolean;
}

export const HELP_TEXT = 'Reply STOP to unsubscribe or START to resubscribe. Msg & data rates may apply.';

/** Handles one inbound SMS (see the module comment). */
export async function handleInboundSms(ctx: AppContext, sms: InboundSms): Promise<InboundResult> {
  const kind = classifyInbound(sms.body);
  const likelyOptOut = kind === 'reply' && looksLikeOptOut(sms.body);
  const now = ctx.clock.now();
  return ctx.db.tx(async (c): Promise<InboundResult> => {
    // The thread to tell is that of the latest message to the number; the reply counts for a
    // message (analytics) only within the attribution window.
    const target = await latestMessageTo(c, sms.from);
    const attributed = await attributeReply(c, sms.from, now);
    const help = target?.brand ? `${target.brand}: ${HELP_TEXT}` : HELP_TEXT;
    const inboundId = await recordInboundMessage(c, {
      providerMessageId: sms.providerMessageId, from: sms.from, to: sms.to ?? null, body: sms.body, kind, likelyOptOut,
      customerId: target?.customer_id ?? null, messageId: attributed?.messageId ?? null, receivedAt: now,
    });
    const base = { kind, reply: kind === 'help' ? help : null, messageId: attributed?.messageId ?? null, likelyOptOut };
    if (inboundId === null) return { ...base, duplicate: true, cancelled: 0 };
    const who = `${target?.customer_name ?? 'Someone'} (${maskPhone(sms.from)})`;
    let cancelled = 0;
    let message: ChatMessage;

    if (kind === 'stop') {
      await setContactStatus(c, { phone: sms.from, status: 'opted_out', keyword: sms.body.trim().slice(0, 40), source: 'sms', at: now });
      cancelled = await cancelPendingTo(c, ctx, sms.from, 'opted_out', 'recipient');
      message = {
        title: 'Opt-out',
        text: `${who} opted out ("${sms.body.trim()}").${cancelled ? ` ${cancelled} pending message${cancelled === 1 ? '' : 's'} to this number cancelled.` : ''}`,
        tone: 'warning',
      };
    } else if (kind === 'start') {
      await setContactStatus(c, { phone: sms.from, status: 'subscribed', keyword: sms.body.trim().slice(0, 40), source: 'sms', at: now });
      message = { title: 'Re-subscribed', text: `${who} texted "${sms.body.trim()}" and is subscribed again.`, tone: 'info' };
    } else if (kind === 'help') {
      message = { title: 'Help request', text: `${who} asked for HELP and got: "${help}"`, tone: 'info' };
    } else {
      message = {
        title: likelyOptOut ? 'Reply: looks like an opt-out request' : 'Reply',
        text: `${who} replied: "${sms.body}"${
          likelyOptOut ? `\nThis reads like a request to stop texting them: if so, record the opt-out with /campaign optout reply:${inboundId}` : ''
        }`,
        tone: likelyOptOut ? 'warning' : 'info',
      };
    }
    await postToThread(c, ctx.config, {
      campaignId: target ? Number(target.campaign_id) : null,
      batchId: target?.batch_id == null ? null : Number(target.batch_id),
      key: `inbound:${inboundId}`,
      message,
    });
    if (target) await enqueueProgress(c, [target.batch_id === null ? null : Number(target.batch_id)], now);
    // Without Twilio there is no TwiML answer: the outbox "sends" the HELP text, in this
    // transaction (a rerun after a lost COMMIT answer finds it sent, not a duplicate to skip).
    if (kind === 'help' && !ctx.config.twilio) await new OutboxSmsProvider(c, ctx.clock).send({ to: sms.from, body: help });
    return { ...base, duplicate: false, cancelled };
    // Run again after a deadlock or a lost connection: a STOP must not be lost, and a second run of one that did commit is a duplicate.
  }, { rerunnable: true });
}

/**
 * Cancels every pending (suggested, approved, needs_review) message to `phone`, in every
 * campaign, and enqueues their card re-renders. Returns how many it cancelled.
 */
export async function cancelPendingTo(q: Queryable, ctx: AppContext, phone: string, reason: string, actor: string): Promise<number> {
  const ids = await lockPendingTo(q, phone);
  if (ids.length === 0) return 0;
  const r = await transitionMessages(q, {
    ids,
    from: PENDING_STATUSES,
    to: 'cancelled',
    actor,
    surface: 'sms',
    action: 'cancelled_opt_out',
    set: { cancelled_reason: reason },
  });
  await enqueueCards(q, r.moved, ctx.clock.now());
  ctx.log.info('opt-out cancelled pending messages', { phone: maskPhone(phone), cancelled: r.moved.length });
  return r.moved.length;
}
