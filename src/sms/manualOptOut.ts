/**
 * An opt-out recorded by a person: the customer asked to stop in words the keywords do not
 * catch ("please stop texting me", flagged in the thread as a likely opt-out), or by phone
 * or email. It does what their STOP would: the number is opted out (only the customer's own
 * START undoes it), every pending message to it is cancelled in every campaign, and the
 * thread of the latest message to it says who recorded it. Audited.
 */
import type { Actor } from '../bot/actor.ts';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/database.ts';
import { writeAudit } from '../db/queries/audit.ts';
import { optOutUnlessOptedOut } from '../db/queries/contactStatus.ts';
import { maskPhone, normalizePhone } from '../domain/phone.ts';
import { AppError } from '../errors.ts';
import { enqueueProgress, postToThread } from '../scheduler/posts.ts';
import { cancelPendingTo } from './inbound.ts';
import { inboundSender, latestMessageTo } from './queries.ts';

/** `reply:ID`: the sender of a reply shown in a thread (threads show numbers masked). */
const REPLY_REF = /^reply:(\d{1,15})$/i;

/** The number `target` names: a phone number, or `reply:ID` for the sender of that reply. */
export async function optOutTarget(q: Queryable, ctx: AppContext, target: string): Promise<string> {
  const ref = REPLY_REF.exec(target.trim());
  if (ref) {
    const from = await inboundSender(q, Number(ref[1]));
    if (from === undefined) throw new AppError('not_found', `There is no reply ${ref[1]}: use the command shown under the reply, or the full phone number.`);
    return from;
  }
  const phone = normalizePhone(target, ctx.config.phoneRegion);
  if (!phone.ok) throw new AppError('invalid', `Cannot record an opt-out for "${target}": ${phone.reason}. Give the full number (+14155550123) or reply:ID from the thread.`);
  return phone.e164;
}

export async function recordOptOutByHand(ctx: AppContext, actor: Actor, target: string): Promise<{ message: string }> {
  const now = ctx.clock.now();
  return ctx.db.tx(async (c) => {
    const phone = await optOutTarget(c, ctx, target);
    // In the order a STOP takes them (the number's row, then its messages): the two never deadlock.
    const changed = await optOutUnlessOptedOut(c, phone, now);
    const already = !changed;
    const cancelled = await cancelPendingTo(c, ctx, phone, 'opted_out', actor.name);
    const masked = maskPhone(phone);
    const pending = cancelled ? ` ${cancelled} pending message${cancelled === 1 ? '' : 's'} to it cancelled.` : '';
    if (already && !cancelled) return { message: `${masked} was already opted out: nothing is sent to it.` };
    await writeAudit(c, {
      actor: actor.name, surface: actor.surface, action: 'opted_out_by_hand', entityType: 'contact', entityId: phone,
      before: { status: changed ? changed.before : 'opted_out' }, after: { status: 'opted_out', cancelled },
    });
    const latest = await latestMessageTo(c, phone);
    if (latest) {
      const batchId = latest.batch_id === null ? null : Number(latest.batch_id);
      await postToThread(c, ctx.config, {
        campaignId: Number(latest.campaign_id),
        batchId,
        key: `optout:manual:${latest.id}:${now.getTime()}`,
        message: { title: 'Opt-out (recorded by hand)', text: `${actor.name} recorded an opt-out for ${latest.customer_name ?? 'a customer'} (${masked}).${pending}`, tone: 'warning' },
      });
      await enqueueProgress(c, [batchId], now);
    }
    return { message: `${masked} is opted out${already ? ' (it already was)' : ''}.${pending} Only the customer can undo it, by texting START.` };
  });
}
