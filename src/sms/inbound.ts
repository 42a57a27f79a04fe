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

interface Attribution {
  id: number;
  campaign_id: number;
  batch_id: number | null;
  customer_id: number | null;
  customer_name: string | null;
  brand: string | null;
}

/** The latest message to a number (sent first): its thread hears of the number's replies and opt-outs. */
export async function latestMessageTo(q: Queryable, phone: string): Promise<Attribution | undefined> {
  const { rows } = await q.query<Attribution>(
    `SELECT m.id, m.campaign_id, m.batch_id, m.customer_id, cu.name AS customer_name, c.brief->>'brand' AS brand
     FROM campaign_messages m JOIN campaigns c ON c.id = m.campaign_id LEFT JOIN customers cu ON cu.id = m.customer_id
     WHERE m.phone = $1
     ORDER BY (m.sent_at IS NOT NULL) DESC, m.sent_at DESC NULLS LAST, m.id DESC LIMIT 1`,
    [phone],
  );
  return rows[0];
}

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
    const ins = await c.query<{ id: number }>(
      `INSERT INTO inbound_messages (provider_message_id, from_phone, to_phone, body, kind, likely_opt_out, customer_id, message_id, received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (provider_message_id) DO NOTHING RETURNING id`,
      [sms.providerMessageId, sms.from, sms.to ?? null, sms.body, kind, likelyOptOut, target?.customer_id ?? null, attributed?.messageId ?? null, now],
    );
    const base = { kind, reply: kind === 'help' ? help : null, messageId: attributed?.messageId ?? null, likelyOptOut };
    if (!ins.rowCount) return { ...base, duplicate: true, cancelled: 0 };
    const inboundId = Number(ins.rows[0]!.id);
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
  const { rows } = await q.query<{ id: number }>(
    `SELECT id FROM campaign_messages WHERE phone = $1 AND status = ANY($2::text[]) FOR UPDATE`,
    [phone, PENDING_STATUSES],
  );
  if (rows.length === 0) return 0;
  const r = await transitionMessages(q, {
    ids: rows.map((x) => Number(x.id)),
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
