/**
 * A message in review that did go out, recorded by a person: `/campaign sent ID SMSID...`.
 * Reconciliation sends a message to review when it cannot tell whether its SMS went (two
 * messages with the same text and one SMS, an SMS whose text the provider did not keep, or
 * not found after the last attempt). The person checks the provider's log. Approving sends
 * it again, and rejecting leaves a message that went counted as never sent. This records it
 * as sent with the SMS ids from the log. Each id is checked at the provider first: an SMS to
 * this number, sent since the message was written, that did not fail there, not an answer to
 * an inbound SMS or a test send, not already another message's nor possibly that of another
 * message to the number still being sent or reconciled, and of this message's text when the
 * provider kept the text. Audited, with a post in the batch's thread.
 */
import type { Actor } from '../bot/actor.ts';
import type { AppContext } from '../context.ts';
import { testSendIdsAmong } from '../db/queries/audit.ts';
import { transitionMessage } from '../db/queries/transition.ts';
import { maskPhone } from '../domain/phone.ts';
import { AppError, coerceError } from '../errors.ts';
import { enforceErrorBudget } from '../scheduler/errorBudget.ts';
import { enqueueCoalescedCards, postToThread } from '../scheduler/posts.ts';
import { reconcilingTo } from '../scheduler/queries.ts';
import { splitBubbles } from './bubbles.ts';
import type { ProviderMessage, SmsProvider } from './provider.ts';
import { isTextOf, sameSmsText, TEST_SEND_PREFIX } from './providerText.ts';
import { lockProviderIds, messageForReview, type ReviewMessage } from './queries.ts';
import { applyDeliveryStatus, applyEarlyStatuses } from './status.ts';

export const MARK_SENT_USAGE =
  'Usage: `/campaign sent MESSAGE SMSID [SMSID ...]`: MESSAGE is the number shown on the card in review, SMSID the id of its SMS in the provider\'s log (one per bubble that went).';

/** A provider's message id: letters, digits, '-' and '_' (Twilio's are SM + 32 hex digits). */
const PROVIDER_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A message number as cards show it (not 1e1 or 0x0a, which Number() would also read). */
const MESSAGE_NUMBER = /^#?\d{1,15}$/;

/** Provider statuses of an SMS that did not go out (Twilio's words). */
const NEVER_WENT = ['failed', 'canceled'];

/** Input echoed in a reply: short, whatever was pasted. */
function clipped(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

/** "SMa SMb", "SMa,SMb" and "SMa, SMb" alike, on every surface (Discord hands its option over quoted, as one word). */
export function smsIdsOf(words: string[]): string[] {
  return words.flatMap((w) => w.split(/[\s,]+/)).filter(Boolean);
}

/** The provider's list is by date; its clock and ours may differ by a little. */
const CLOCK_SLACK_MS = 5 * 60_000;

export async function recordSentByHand(ctx: AppContext, sms: SmsProvider, actor: Actor, words: string[]): Promise<{ message: string }> {
  const [idText, ...rest] = words;
  const sids = smsIdsOf(rest);
  if (!idText || sids.length === 0) throw new AppError('invalid', MARK_SENT_USAGE);
  if (!MESSAGE_NUMBER.test(idText)) throw new AppError('invalid', `"${clipped(idText)}" is not a message number. ${MARK_SENT_USAGE}`);
  const id = Number(idText.replace(/^#/, ''));
  const bad = sids.find((s) => !PROVIDER_ID.test(s));
  if (bad !== undefined) throw new AppError('invalid', `"${clipped(bad)}" is not an SMS id (the provider's look like SM followed by 32 letters and digits). ${MARK_SENT_USAGE}`);
  if (new Set(sids).size < sids.length) throw new AppError('invalid', 'The same SMS id is given twice: give each SMS of the message once.');

  const m = await loadMessageInReview(ctx, id);
  const bubbles = splitBubbles(m.body);
  if (sids.length > bubbles.length) {
    throw new AppError('invalid', `Message ${id} is ${bubbles.length === 1 ? 'one SMS' : `${bubbles.length} SMS`}, and ${sids.length} ids were given.`);
  }
  // Asked outside any transaction: the provider may be slow, and nothing here is locked meanwhile.
  let listed: ProviderMessage[];
  try {
    listed = await sms.listSent(m.phone, new Date(m.since.getTime() - CLOCK_SLACK_MS));
  } catch (e) {
    throw new AppError('unavailable', `Could not check with the provider (${coerceError(e).message.slice(0, 200)}): nothing was recorded. Try again in a minute.`);
  }
  const found = matchListed(m, bubbles, sids, listed);
  const ids = found.map((l) => l.providerMessageId);

  const now = ctx.clock.now();
  const failedCampaigns = await ctx.db.tx(async (c) => {
    // Two people recording one SMS for two messages take turns (the second finds it taken);
    // two recording one message both reach its row, which the second finds sent.
    await lockProviderIds(c, ids);
    const { known, open } = await reconcilingTo(c, m.phone, id);
    const taken = ids.find((s) => known.has(s) && known.get(s) !== id);
    if (taken) throw new AppError('conflict', `SMS ${taken} is message ${known.get(taken)}'s already: nothing was recorded. Check the id in the provider's log.`);
    const tests = await testSendIdsAmong(c, m.phone, ids);
    if (tests.size) throw new AppError('conflict', `SMS ${[...tests].join(', ')} ${tests.size === 1 ? 'is a test send' : 'are test sends'}, not this message.`);
    // Another message to the number whose outcome is open may own the SMS: its sender may be
    // about to record it, or reconciliation to find it. Recording it here would leave that
    // message looking absent, and send it again. (Any text matches a text the provider did not keep.)
    const rival = open.find((r) => found.some((l) => l.body === '' || isTextOf(l.body, r.body)));
    if (rival) {
      throw new AppError(
        'conflict',
        `Message ${rival.id} to the same number is ${rival.status === 'sending' ? 'being sent' : 'being reconciled with the provider'}, and this SMS may be its own: nothing was recorded. Try again in a few minutes, once it is settled.`,
      );
    }
    const moved = await transitionMessage(c, {
      id, from: 'needs_review', to: 'sent', attempts: m.attempts, version: m.version, actor: actor.name, surface: actor.surface, action: 'recorded_sent_by_hand',
      note: { providerMessageIds: ids },
      set: {
        provider_message_id: ids[0], extra_provider_ids: ids.slice(1), provider: sms.name, sent_at: found[0]!.dateCreated,
        last_error: ids.length < bubbles.length ? `${actor.name} recorded ${ids.length} of its ${bubbles.length} bubbles as sent` : null,
      },
    });
    if (!moved.ok) {
      throw new AppError(
        'conflict',
        moved.status === 'needs_review'
          ? `Message ${id} was edited while its SMS was being checked: nothing was recorded. Check its text against the provider's log and run the command again.`
          : `Message ${id} is ${moved.status?.replace('_', ' ') ?? 'gone'} now: nothing was recorded.`,
      );
    }
    // The provider may already know the outcome (delivered, undelivered), and status callbacks for these ids may have come first.
    const failed = await applyEarlyStatuses(c, ctx, ids.slice(0, 1));
    const listedOutcome = await applyDeliveryStatus(c, ctx, ids[0]!, found[0]!.status);
    if (listedOutcome !== null && found[0]!.status !== 'delivered') failed.add(listedOutcome);
    await enqueueCoalescedCards(c, [{ id, batchId: m.batch_id }], now);
    await postToThread(c, ctx.config, {
      campaignId: m.campaign_id,
      batchId: m.batch_id,
      key: `sent:manual:${id}`,
      message: {
        title: 'Recorded as sent (by hand)',
        text: `${actor.name} recorded message ${id} to ${m.customer_name ?? 'a customer'} (${maskPhone(m.phone)}) as sent, from the provider's log (${ids.join(', ')}). It will not be sent again.`,
        tone: 'info',
      },
    });
    return failed;
  }).catch((e: unknown) => {
    // Reconciliation attributed the first SMS to another message meanwhile (it does not take turns on the id).
    if ((e as { constraint?: string }).constraint === 'campaign_messages_provider_message_id_key') {
      throw new AppError('conflict', `SMS ${ids[0]} was just recorded as another message's: nothing was recorded.`);
    }
    throw e;
  });
  for (const campaignId of failedCampaigns) await ctx.db.tx((c) => enforceErrorBudget(c, ctx, campaignId));
  const partial = ids.length < bubbles.length ? ` (${ids.length} of its ${bubbles.length} bubbles)` : '';
  return { message: `Message ${id} to ${maskPhone(m.phone)} is recorded as sent${partial}: it will not be sent again.` };
}

/** The message, if it may be recorded as sent: in review, after an attempt of ours. */
async function loadMessageInReview(ctx: AppContext, id: number): Promise<ReviewMessage> {
  const m = await messageForReview(ctx.db.pool, id);
  if (!m) throw new AppError('not_found', `There is no message ${id}: use the number shown on the card in review.`);
  if (m.status !== 'needs_review') {
    throw new AppError('conflict', `Message ${id} is ${m.status.replace('_', ' ')}: only a message in review can be recorded as sent by hand.`);
  }
  if (m.attempts === 0) {
    throw new AppError('conflict', `Message ${id} was never sent by smsops (it is in review before any attempt): approve it to send it, or reject it.`);
  }
  return { ...m, id: Number(m.id), campaign_id: Number(m.campaign_id), batch_id: m.batch_id === null ? null : Number(m.batch_id) };
}

/**
 * Each id's SMS in the provider's list of the number, checked; in the order they went (by
 * bubble when the provider kept the texts, else by the provider's time): the first is the
 * message's provider id, which delivery reports follow.
 */
function matchListed(m: ReviewMessage, bubbles: string[], sids: string[], listed: ProviderMessage[]): ProviderMessage[] {
  const masked = maskPhone(m.phone);
  const bubbleOf = new Map<ProviderMessage, number>();
  const found = sids.map((sid) => {
    const l = listed.find((x) => x.providerMessageId === sid);
    if (!l) throw new AppError('not_found', `The provider has no SMS ${sid} to ${masked} since message ${m.id} was written: check the id and the number in its log.`);
    if (l.direction === 'outbound-reply') throw new AppError('conflict', `SMS ${sid} is an automatic answer to an SMS from ${masked}, not a campaign message.`);
    if (l.body.startsWith(TEST_SEND_PREFIX)) throw new AppError('conflict', `SMS ${sid} is a test send, not this message.`);
    if (NEVER_WENT.includes(l.status)) {
      throw new AppError('conflict', `The provider lists SMS ${sid} as ${l.status}: it never reached the phone, so nothing was recorded. Approve the message to send it again, or reject it.`);
    }
    // A provider that keeps no text (content retention) lists none: the number and the time are all there is.
    if (l.body === '') return l;
    const taken = new Set(bubbleOf.values());
    const bubble = bubbles.findIndex((b, i) => !taken.has(i) && sameSmsText(l.body, b));
    if (bubble < 0) throw new AppError('conflict', `SMS ${sid} has another text than message ${m.id}: check the id in the provider's log.`);
    bubbleOf.set(l, bubble);
    return l;
  });
  const byBubble = bubbleOf.size === found.length;
  return found.sort((a, b) => (byBubble ? bubbleOf.get(a)! - bubbleOf.get(b)! : a.dateCreated.getTime() - b.dateCreated.getTime()));
}
