/**
 * The dispatcher: claims due approved messages in batches and sends them, exactly once.
 *
 * 1. Claim (one transaction): lock due messages FOR UPDATE SKIP LOCKED (several dispatchers
 *    never pick the same one; campaign active and test mode are part of "due"), check each
 *    again (number not opted out, consent, not too late, inside both windows until its last
 *    bubble, under the caps), then move the ones that pass to `sending` with attempts + 1 and
 *    last_attempt_at in one guarded statement: the attempt is on record BEFORE the provider
 *    is called.
 * 2. Send: one provider call per bubble, outside any transaction, each after a last look at
 *    the claim's age and the windows (a window may close while a batch waits for its turn).
 * 3. Record: `sent` with each message's provider ids, fenced per message by its claim's
 *    attempts number (a stale sender cannot overwrite a newer claim), one statement for the
 *    batch; `failed`, `cancelled` (opted out at the provider) or `unknown` when the answer
 *    could hide an accepted message; `approved` again, with its next slot, when a window
 *    closed before the call (`cancelled` if its campaign was cancelled meanwhile), in a
 *    transaction of its own; its campaign is then re-planned from that moment.
 * `unknown` messages, and `sending` ones whose sender died (lease expired), are reconciled
 * against the provider's own list before anything is sent again: never a blind retry.
 * Claims of one campaign take turns across every process (an advisory lock held from the
 * cap count to commit), so racing claims never add up past a cap; `sendDue` overlaps one
 * batch's claim and record with another's sends.
 */
import { effectiveSettings, type CampaignSettings } from '../campaigns/settings.ts';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/database.ts';
import { setContactStatus } from '../db/queries/contactStatus.ts';
import { transitionMessage, transitionMessages } from '../db/queries/transition.ts';
import { coerceError } from '../errors.ts';
import { incCounter } from '../http/metrics.ts';
import { maskPhone } from '../domain/phone.ts';
import { splitBubbles } from '../sms/bubbles.ts';
import { cancelPendingTo } from '../sms/inbound.ts';
import { SmsSendError, type ProviderMessage, type SmsProvider } from '../sms/provider.ts';
import { isTextOf, sameSmsText, TEST_SEND_PREFIX } from '../sms/providerText.ts';
import { applyEarlyStatuses } from '../sms/status.ts';
import { enforceErrorBudget } from './errorBudget.ts';
import { dayBoundaries } from './plan.ts';
import { replanCampaign } from './planner.ts';
import { enqueueCoalescedCards, enqueueProgress, postToThread } from './posts.ts';
import {
  cancelledCampaigns,
  claimsWithoutCall,
  expiredSends,
  latestBatchOf,
  lockCampaignCaps,
  lockDueCandidates,
  recentAttempts,
  unknownToReconcile,
  reconcilingTo,
  writeSlots,
  type Candidate,
} from './queries.ts';
import { SendGuard, type SendVerdict } from './sendGuard.ts';
import { bubbleSpanMs, insideWindows, nextFit, RecipientWindows, slotSpanMs, unfitReason, windowsOpenThrough } from './recipients.ts';
import type { RecipientWindow } from '../domain/quietHours.ts';

export interface DispatcherOptions {
  /** Messages claimed per transaction. */
  batchSize: number;
  /** Provider calls in flight at once. */
  concurrency: number;
  /** Pause between the bubbles of one message (default: SEND_BUBBLE_GAP_SECONDS, which the planner leaves room for). */
  bubbleGapMs: number;
  /** A `sending` message older than this is presumed orphaned (its sender died): keep it far above the provider timeout. */
  leaseMs: number;
  /** How long after an attempt the provider's list is trusted to show it. */
  settleMs: number;
  /** Reconciled-absent messages are sent again at most this many attempts in total, then need review. */
  maxAttempts: number;
  /**
   * Claim-send-record loops side by side in `sendDue`: one batch is claimed and recorded while
   * another is sent. Claims take turns (slot order holds) and so do sends (one batch's
   * provider calls at a time).
   */
  pipeline: number;
}

const DEFAULT_DISPATCHER_OPTIONS: Omit<DispatcherOptions, 'bubbleGapMs'> = {
  batchSize: 100,
  concurrency: 8,
  leaseMs: 5 * 60_000,
  settleMs: 30_000,
  maxAttempts: 3,
  pipeline: 2,
};

export interface DispatchStats {
  /** Due messages looked at (locked) by the claim. */
  due: number;
  claimed: number;
  sent: number;
  failed: number;
  unknown: number;
  cancelled: number;
  review: number;
  /** Left due: over their campaign's cap (tried again next tick). */
  held: number;
  /** Found outside their windows (at the claim, or right before the provider call): given the slot when all open again. */
  rescheduled: number;
}

const noStats = (): DispatchStats => ({ due: 0, claimed: 0, sent: 0, failed: 0, unknown: 0, cancelled: 0, review: 0, held: 0, rescheduled: 0 });

interface Claimed {
  id: number;
  campaignId: number;
  batchId: number | null;
  phone: string;
  /** The body split as it is sent (one SMS each), once, at the claim. */
  bubbles: string[];
  attempts: number;
  /** What the claim checked the windows with: checked again right before each provider call. */
  settings: CampaignSettings;
  recipient: readonly RecipientWindow[];
  /**
   * When its first provider call began (set by send), else when it was claimed: recorded as
   * last_attempt_at, which the caps count. A batch can wait longer than a cap's window for
   * its turn to send; stamped with the claim, its sends would fall out of the window early.
   */
  attemptedAt: number;
}

type Outcome =
  | { m: Claimed; ok: true; ids: string[]; status: string; partial?: SmsSendError }
  | { m: Claimed; ok: false; error: SmsSendError }
  /** Nothing went: the last look found the number opted out, or its campaign cancelled, paused or in test mode. */
  | { m: Claimed; ok: false; stopped: Exclude<SendVerdict, 'go'> }
  /** Nothing went: a window closed between the claim and the provider call. */
  | { m: Claimed; ok: false; closedAt: number };

export class Dispatcher {
  readonly opts: DispatcherOptions;
  /** Recipient windows by place, kept across claims (the key holds everything they depend on). */
  private readonly recipients = new RecipientWindows();
  /**
   * Claims of this process pick their messages and take their campaigns' turn in the same
   * order, so the batch with the earlier slots is claimed first (the rest of a claim overlaps).
   */
  private pickTurn: Promise<void> = Promise.resolve();
  /** The send phase in progress: batches take turns, so at most `concurrency` provider calls are in flight. */
  private sending: Promise<unknown> = Promise.resolve();
  /**
   * Campaigns with messages put back on the timeline for a window's next opening, the
   * instant to re-plan them from (the latest moment found closed) and the re-plans that
   * failed so far (given up after REPLAN_TRIES): re-planned, so they do
   * not all go at that opening at once.
   */
  private readonly toReplan = new Map<number, { from: number; failures: number }>();
  constructor(
    private readonly ctx: AppContext,
    private readonly sms: SmsProvider,
    opts: Partial<DispatcherOptions> = {},
  ) {
    this.opts = { ...DEFAULT_DISPATCHER_OPTIONS, bubbleGapMs: ctx.config.scheduler.bubbleGapSeconds * 1000, ...opts };
  }

  /**
   * Sends everything due now, in `pipeline` loops of runOnce side by side (claims of one
   * campaign take turns; see lockCampaignCaps). A campaign found at its cap sits out the rest
   * of the round, so its held messages never stand in line in front of other campaigns'; the
   * next tick tries it again. A loop ends when nothing more is due, when a batch neither moved
   * anything nor found another campaign at its cap, or when `stopping()` says so; the batches
   * in flight are always recorded.
   */
  async sendDue(stopping: () => boolean = () => false): Promise<DispatchStats> {
    const total = noStats();
    const atCap = new Set<number>();
    let aLoopFailed = false;
    const loop = async (): Promise<void> => {
      for (;;) {
        const capsBefore = atCap.size;
        let r: DispatchStats;
        try {
          r = await this.runOnce(atCap);
        } catch (e) {
          aLoopFailed = true;
          throw e;
        }
        for (const k of Object.keys(total) as (keyof DispatchStats)[]) total[k] += r[k];
        const moved = r.claimed + r.cancelled + r.review + r.rescheduled;
        if (aLoopFailed || stopping() || r.due < this.opts.batchSize || (moved === 0 && atCap.size === capsBefore)) return;
      }
    };
    // Every loop ends before the round does (a failed one must not leave the other running
    // outside it, where stop() would not wait for its sends to be recorded); after a failure
    // the others finish the batch in hand and stop, and the round reports the failure.
    const ends = await Promise.allSettled(Array.from({ length: Math.max(1, this.opts.pipeline) }, loop));
    const failed = ends.find((e): e is PromiseRejectedResult => e.status === 'rejected');
    if (failed) throw failed.reason;
    return total;
  }

  /**
   * Claims one batch of due messages, sends them and records the outcomes. Campaigns in
   * `atCap` are skipped; campaigns found at their cap are added to it.
   */
  async runOnce(atCap: Set<number> = new Set()): Promise<DispatchStats> {
    const stats = noStats();
    // This process's earlier claim picks first. Waited for outside the transaction: a
    // transaction waiting on something else looks idle to PostgreSQL, which would end it.
    const passTurn = await this.takePickTurn();
    const now = this.ctx.clock.now();
    let claimed: Claimed[];
    try {
      claimed = await this.ctx.db.tx((c) => this.claim(c, now, stats, atCap, passTurn));
    } finally {
      passTurn();
    }
    if (claimed.length === 0) {
      await this.replanRescheduled();
      return stats;
    }
    // The last look (opt-outs, the campaign's state) happens right before each provider call, not before waiting for the turn.
    const guard = new SendGuard(this.ctx.db.pool);
    const turn = this.sending.then(() => mapLimit(claimed, this.opts.concurrency, (m) => this.send(m, now.getTime(), guard)));
    this.sending = turn.catch(() => undefined);
    await this.record(await turn, stats);
    await this.replanRescheduled();
    return stats;
  }

  /**
   * Messages put back on the timeline all got the same slot (the next opening): a safe
   * place, not a paced one. Re-planning their campaigns (as a resume does) spaces them out.
   */
  private async replanRescheduled(): Promise<void> {
    // Taken whole (another loop of the round finds nothing left to do); a failed re-plan goes
    // back and is tried again after the next batch: meanwhile its messages keep a safe slot.
    const due = [...this.toReplan];
    this.toReplan.clear();
    for (const [campaignId, { from, failures }] of due) {
      try {
        const planned = await this.ctx.db.tx(async (c) => {
          const n = await replanCampaign(c, this.ctx, campaignId, new Date(from));
          // The batch's progress shows the next send and the ETA, which just moved.
          await enqueueProgress(c, [await latestBatchOf(c, campaignId)], this.ctx.clock.now());
          return n;
        });
        this.ctx.log.info('re-planned a campaign after a window closed on its messages', { campaignId, planned });
      } catch (e) {
        const err = coerceError(e);
        if (failures + 1 < REPLAN_TRIES) {
          this.replanFrom(campaignId, from, failures + 1);
          this.ctx.log.warn('could not re-plan a campaign after a window closed on its messages (they keep the next opening; tried again after the next batch)', { campaignId, err });
        } else {
          this.ctx.log.error(`gave up re-planning a campaign after ${failures + 1} failures: its messages keep the next opening, held only by the caps (resume the campaign to re-plan it)`, { campaignId, err });
        }
      }
    }
  }

  /** Failures so far ride along, so a campaign whose re-plan keeps failing is given up in the end. */
  private replanFrom(campaignId: number, closedAt: number, failures = 0): void {
    const had = this.toReplan.get(campaignId);
    this.toReplan.set(campaignId, { from: Math.max(closedAt, had?.from ?? closedAt), failures: Math.max(failures, had?.failures ?? 0) });
  }

  /** From a message's first SMS to its last. */
  private bubbleSpan(bubbles: readonly string[]): number {
    return bubbleSpanMs(bubbles.length, this.opts.bubbleGapMs);
  }

  /** Where a message is put back on the timeline: windows open for its bubbles with a margin, as the planner places it. */
  private nextSlot(t: number, m: { bubbles: readonly string[]; settings: CampaignSettings; recipient: readonly RecipientWindow[] }): number {
    return nextFit(t, m.settings, m.recipient, slotSpanMs(m.bubbles.length, this.opts.bubbleGapMs));
  }

  /** Waits for this process's previous claim to pass the pick turn; returns this claim's pass (idempotent). */
  private async takePickTurn(): Promise<() => void> {
    const previous = this.pickTurn;
    let pass!: () => void;
    this.pickTurn = new Promise((r) => (pass = r));
    await previous;
    return pass;
  }

  /** `passTurn` once its campaigns' turn is taken: the next claim of this process may pick then. */
  private async claim(c: Queryable, now: Date, stats: DispatchStats, atCap: Set<number>, passTurn: () => void): Promise<Claimed[]> {
    let candidates: Candidate[];
    const settings = new Map<number, CampaignSettings>();
    try {
      candidates = await lockDueCandidates(c, now, this.opts.batchSize, [...atCap]);
      for (const cand of candidates) {
        if (!settings.has(cand.campaign_id)) settings.set(cand.campaign_id, effectiveSettings(this.ctx.config, cand.campaign_settings));
      }
      // Counted only once no other claim of these campaigns is in flight (their attempts are committed).
      await lockCampaignCaps(c, [...settings.keys()]);
    } finally {
      passTurn();
    }
    stats.due = candidates.length;
    if (candidates.length === 0) return [];
    const batchOf = new Map(candidates.map((cand) => [cand.id, cand.batch_id]));
    const cards = (moved: { id: number }[]) => enqueueCoalescedCards(c, moved.map((m) => ({ id: m.id, batchId: batchOf.get(m.id) ?? null })), now);
    const counts = await recentAttempts(
      c,
      now,
      [...settings].map(([id, s]) => ({
        id,
        dayStart: new Date(dayBoundaries(s.timezone).dayStart(now.getTime())),
        limit: Math.max(s.ratePerMinute, s.ratePerHour, s.ratePerDay),
      })),
    );
    const room = new Map<number, number>();
    for (const [id, s] of settings) {
      const n = counts.get(id) ?? { minute: 0, hour: 0, day: 0 };
      room.set(id, Math.max(0, Math.min(s.ratePerMinute - n.minute, s.ratePerHour - n.hour, s.ratePerDay - n.day)));
    }
    await this.recipients.prepare(candidates.map((cand) => ({ m: cand, settings: settings.get(cand.campaign_id)! })));
    // Same campaign, same place, same instant: same answer. Windows arrays are shared per place.
    const open = new Map<CampaignSettings, Map<readonly RecipientWindow[], boolean>>();
    const isOpen = (s: CampaignSettings, recipient: readonly RecipientWindow[]): boolean => {
      let byPlace = open.get(s);
      if (!byPlace) open.set(s, (byPlace = new Map()));
      let inside = byPlace.get(recipient);
      if (inside === undefined) byPlace.set(recipient, (inside = insideWindows(now.getTime(), s, recipient)));
      return inside;
    };

    const cancel = new Map<string, number[]>();
    const review: { cand: Candidate; reason: string }[] = [];
    const reslot: { id: number; at: number }[] = [];
    const go: (Candidate & { bubbles: string[] })[] = [];
    const lateMs = this.ctx.config.scheduler.maxLatenessMinutes * 60_000;
    for (const cand of candidates) {
      const s = settings.get(cand.campaign_id)!;
      if (cand.opted_out) push(cancel, 'opted_out', cand.id);
      else if (cand.customer_id !== null && cand.consent_status !== 'opted_in') push(cancel, 'no_consent', cand.id);
      else if (now.getTime() - cand.scheduled_send_time.getTime() > lateMs) {
        const minutes = Math.round((now.getTime() - cand.scheduled_send_time.getTime()) / 60_000);
        review.push({ cand, reason: `its send time passed ${minutes} minutes ago (more than the allowed lateness): approve it again to send` });
      }
      else {
        const recipient = this.recipients.get(cand, s);
        // Late into a closed window (the dispatcher was down), or so close to its end that the
        // last bubble would fall after it (see send): move to when all windows open again.
        const bubbles = splitBubbles(cand.body);
        const span = this.bubbleSpan(bubbles);
        const t = now.getTime();
        if (!isOpen(s, recipient) || (span > 0 && !windowsOpenThrough(t, s, recipient, span))) {
          const at = this.nextSlot(t, { bubbles, settings: s, recipient });
          if (at === Infinity) review.push({ cand, reason: unfitReason(t, s, recipient, bubbles.length, this.opts.bubbleGapMs) });
          else {
            reslot.push({ id: cand.id, at });
            this.replanFrom(Number(cand.campaign_id), t);
          }
        } else if ((room.get(cand.campaign_id) ?? 0) > 0) {
          room.set(cand.campaign_id, room.get(cand.campaign_id)! - 1);
          go.push({ ...cand, bubbles });
        } else {
          stats.held++;
          atCap.add(Number(cand.campaign_id));
        }
      }
    }

    for (const [reason, ids] of cancel) {
      const r = await transitionMessages(c, {
        ids, from: 'approved', to: 'cancelled', actor: 'scheduler', surface: 'system', action: `cancelled_${reason}`,
        set: { cancelled_reason: reason },
      });
      stats.cancelled += r.moved.length;
      await cards(r.moved);
    }
    if (review.length) {
      const r = await transitionMessages(c, {
        rows: review.map((r) => ({ id: r.cand.id, set: { last_error: r.reason } })),
        from: 'approved', to: 'needs_review', actor: 'scheduler', surface: 'system',
      });
      stats.review += r.moved.length;
      await cards(r.moved);
    }
    stats.rescheduled += await writeSlots(c, reslot);
    if (go.length === 0) return [];

    // No audit row for the claim itself: attempts and last_attempt_at are on the row, and
    // the outcome that follows (sent, failed, unknown, cancelled) is audited.
    const claimed = await transitionMessages(c, {
      ids: go.map((g) => g.id), from: 'approved', to: 'sending', bumpAttempts: true, actor: 'scheduler', surface: 'system',
      set: { last_attempt_at: now }, audit: false,
    });
    const fences = new Map(claimed.moved.map((m) => [m.id, m.attempts]));
    stats.claimed = fences.size;
    return go
      .filter((g) => fences.has(g.id))
      .map((g) => {
        const s = settings.get(g.campaign_id)!;
        return {
          id: g.id, campaignId: Number(g.campaign_id), batchId: g.batch_id === null ? null : Number(g.batch_id),
          phone: g.phone, bubbles: g.bubbles, attempts: fences.get(g.id)!, settings: s, recipient: this.recipients.get(g, s),
          attemptedAt: now.getTime(),
        };
      });
  }

  private async send(m: Claimed, claimedAt: number, guard: SendGuard): Promise<Outcome> {
    const bubbles = m.bubbles;
    const ids: string[] = [];
    let status = 'queued';
    for (const [i, body] of bubbles.entries()) {
      // The gap is the app's time (the planner left room for it): a demo's fast clock waits less.
      if (i > 0 && this.opts.bubbleGapMs > 0) await (this.ctx.clock.sleep?.(this.opts.bubbleGapMs) ?? sleep(this.opts.bubbleGapMs));
      // A process frozen for most of its lease (SIGSTOP, a VM or GC pause) may have lost this
      // claim to another that already sent the message: it never starts a provider call then.
      const at = this.ctx.clock.now().getTime();
      if (at - claimedAt > this.opts.leaseMs / 2) {
        const error = new SmsSendError('unknown', 'claim_expired', 'its claim grew too old before the provider call (was this process paused?); left to reconciliation');
        return ids.length ? { m, ok: true, ids, status, partial: error } : { m, ok: false, error };
      }
      // A STOP (before any bubble), or a cancel, pause or test mode (before the first), that landed after the claim wins.
      let verdict: SendVerdict;
      try {
        verdict = await guard.verdict(m, i === 0);
      } catch (e) {
        // The database did not answer: nothing goes without the look; reconciliation confirms nothing went.
        const error = new SmsSendError('unknown', 'look_failed', `the last look before the provider call failed: ${coerceError(e).message}`, { cause: e });
        return ids.length ? { m, ok: true, ids, status, partial: error } : { m, ok: false, error };
      }
      if (verdict !== 'go') {
        if (ids.length === 0) return { m, ok: false, stopped: verdict };
        const error = new SmsSendError('permanent', 'opted_out', 'the recipient opted out between its bubbles; the rest were not sent');
        return { m, ok: true, ids, status, partial: error };
      }
      // The claim checked the windows; waiting for its batch's turn (or for the bubble gap)
      // can cross a window's end, and nothing may reach a phone after it. The first bubble
      // goes only if the windows stay open until the last one (it usually carries the opt-out text).
      const open = i === 0 ? windowsOpenThrough(at, m.settings, m.recipient, this.bubbleSpan(bubbles)) : insideWindows(at, m.settings, m.recipient);
      if (!open) {
        if (ids.length === 0) return { m, ok: false, closedAt: at };
        const error = new SmsSendError('permanent', 'window_closed', 'a sending window closed between its bubbles; the rest were not sent');
        return { m, ok: true, ids, status, partial: error };
      }
      try {
        if (i === 0) m.attemptedAt = this.ctx.clock.now().getTime();
        const r = await this.sms.send({ to: m.phone, body, messageId: m.id, bubble: i });
        ids.push(r.providerMessageId);
        status = r.status;
      } catch (e) {
        const error = e instanceof SmsSendError ? e : new SmsSendError('unknown', undefined, coerceError(e).message, { cause: e });
        // Part of the message went out: it is sent (with what went), the rest is noted.
        if (ids.length && error.kind !== 'unknown') return { m, ok: true, ids, status, partial: error };
        return { m, ok: false, error };
      }
    }
    return { m, ok: true, ids, status };
  }

  private async record(outcomes: Outcome[], stats: DispatchStats): Promise<void> {
    const now = this.ctx.clock.now();
    const sent = outcomes.filter((o): o is Extract<Outcome, { ok: true }> => o.ok);
    const failedCampaigns = new Set<number>();
    await this.ctx.db.tx(async (c) => {
      // One statement per shape: whole sends, and (rarely) sends of which only some bubbles went.
      const recorded = new Set<number>();
      for (const group of [sent.filter((o) => !o.partial), sent.filter((o) => o.partial)]) {
        if (group.length === 0) continue;
        const r = await transitionMessages(c, {
          rows: group.map((o) => ({
            id: o.m.id,
            attempts: o.m.attempts,
            set: {
              provider_message_id: o.ids[0],
              extra_provider_ids: o.ids.slice(1),
              last_attempt_at: new Date(o.m.attemptedAt),
              ...(o.partial && {
                last_error: `only ${o.ids.length} of ${o.m.bubbles.length} bubbles went out: ${o.partial.message}`,
                error_code: o.partial.providerCode ?? null,
              }),
            },
          })),
          from: 'sending', to: 'sent', actor: 'scheduler', surface: 'system', set: { sent_at: now, provider: this.sms.name },
        });
        stats.sent += r.moved.length;
        for (const m of r.moved) recorded.add(m.id);
      }
      for (const o of sent) {
        if (!recorded.has(o.m.id)) {
          // Another process took this claim over (our lease ran out mid-call): it will find this SMS at the provider.
          this.ctx.log.error('a send finished after its claim was taken over; reconciliation will attribute it', {
            messageId: o.m.id, providerMessageId: o.ids[0],
          });
        }
      }
      // A provider that knows delivery at once (the local outbox) reports it with the send.
      const delivered = sent.filter((o) => recorded.has(o.m.id) && o.status === 'delivered').map((o) => o.m.id);
      if (delivered.length) {
        await transitionMessages(c, {
          ids: delivered, from: 'sent', to: 'delivered', actor: 'provider', surface: 'sms', set: { delivered_at: now },
        });
      }
      // One coalesced re-render per message, whatever it went through (sent, then delivered).
      await enqueueCoalescedCards(c, sent.filter((o) => recorded.has(o.m.id)).map((o) => o.m), now);
      const early = await applyEarlyStatuses(c, this.ctx, sent.filter((o) => recorded.has(o.m.id) && o.status !== 'delivered').map((o) => o.ids[0]!));
      for (const campaignId of early) failedCampaigns.add(campaignId);

      const failures = outcomes.filter((o): o is Extract<Outcome, { error: SmsSendError }> => 'error' in o);
      for (const o of failures.filter((f) => f.error.kind === 'opted_out')) {
        await this.recordProviderOptOut(c, o.m, o.error, now);
        stats.cancelled++;
      }
      // Refused (failed); an unknown outcome of a provider call; and an attempt that stopped
      // before its call (its claim grew too old, or the last look failed): unknown too, as
      // reconciliation confirms, but audited apart, as it does not count toward review.
      const noCall = (f: (typeof failures)[number]) => NO_CALL_CODES.includes(f.error.providerCode ?? '');
      const shapes = [
        { to: 'failed', group: failures.filter((f) => f.error.kind === 'permanent') },
        { to: 'unknown', group: failures.filter((f) => f.error.kind !== 'permanent' && f.error.kind !== 'opted_out' && !noCall(f)) },
        { to: 'unknown', action: UNKNOWN_BEFORE_CALL, group: failures.filter((f) => f.error.kind !== 'permanent' && f.error.kind !== 'opted_out' && noCall(f)) },
      ] as const;
      for (const { to, group, ...shape } of shapes) {
        if (group.length === 0) continue;
        const r = await transitionMessages(c, {
          rows: group.map((o) => ({
            id: o.m.id, attempts: o.m.attempts,
            set: { error_code: o.error.providerCode ?? null, last_error: o.error.message.slice(0, 500), last_attempt_at: new Date(o.m.attemptedAt) },
          })),
          from: 'sending', to, actor: 'scheduler', surface: 'system', ...('action' in shape ? { action: shape.action } : {}),
        });
        const moved = new Set(r.moved.map((m) => m.id));
        await enqueueCoalescedCards(c, group.filter((o) => moved.has(o.m.id)).map((o) => o.m), now);
        if (to === 'failed') {
          stats.failed += r.moved.length;
          for (const o of group) if (moved.has(o.m.id)) failedCampaigns.add(o.m.campaignId);
        } else stats.unknown += r.moved.length;
        for (const o of group) {
          this.ctx.log.warn(`send ${to === 'failed' ? 'failed' : 'outcome unknown'}`, {
            messageId: o.m.id, phone: maskPhone(o.m.phone), code: o.error.providerCode, err: o.error,
          });
        }
      }
      // The last look found the number opted out: nothing went, nothing will.
      const optedOut = outcomes.filter((o) => 'stopped' in o && o.stopped === 'opted_out').map((o) => o.m);
      if (optedOut.length) {
        const r = await transitionMessages(c, {
          rows: optedOut.map((m) => ({ id: m.id, attempts: m.attempts })), from: 'sending', to: 'cancelled',
          actor: 'scheduler', surface: 'system', action: 'cancelled_opted_out', set: { cancelled_reason: 'opted_out' },
        });
        stats.cancelled += r.moved.length;
        const moved = new Set(r.moved.map((m) => m.id));
        await enqueueCoalescedCards(c, optedOut.filter((m) => moved.has(m.id)), now);
      }
    });
    incCounter('smsops_sms_sent_total', {}, stats.sent, 'Messages the provider accepted');
    incCounter('smsops_sms_failed_total', {}, stats.failed, 'Messages the provider refused');
    incCounter('smsops_sms_unknown_total', {}, stats.unknown, 'Sends with an unknown outcome (reconciled)');
    await this.enforceErrorBudgets(failedCampaigns);
    // Claims that did not go, back on the timeline. Their own transaction: it reads the campaign
    // rows FOR SHARE (to wait for a cancel in progress), which must not be held while the record
    // above locks other messages to a phone (a cancel holds its campaign, then wants its
    // messages, some of which that record's opt-out may hold: the two would deadlock).
    const closed = outcomes.filter((o) => 'closedAt' in o).map((o) => ({ m: o.m, closedAt: o.closedAt }));
    if (closed.length) await this.ctx.db.tx((c) => this.putBack(c, closed, 'window_closed', stats, now));
    const notSending = outcomes.filter((o) => 'stopped' in o && o.stopped === 'not_sending').map((o) => ({ m: o.m }));
    if (notSending.length) await this.ctx.db.tx((c) => this.putBack(c, notSending, 'not_sending', stats, now));
  }

  /**
   * Claims that did not go back to `approved`: a window had closed (`closedAt`: they get the
   * next opening that fits, and their campaign is re-planned from then), or their campaign was
   * paused or put in test mode (they keep their slot; a resume re-plans). The attempt stays
   * counted: it took a cap's room. In a campaign cancelled meanwhile they are cancelled
   * instead: its cancel only reached the messages that were pending then.
   */
  private async putBack(c: Queryable, claims: { m: Claimed; closedAt?: number }[], why: keyof typeof PUT_BACK, stats: DispatchStats, now: Date): Promise<void> {
    const cancelled = await cancelledCampaigns(c, claims.map((o) => o.m.campaignId));
    const dropped = await transitionMessages(c, {
      rows: claims.filter((o) => cancelled.has(o.m.campaignId)).map((o) => ({ id: o.m.id, attempts: o.m.attempts })),
      from: 'sending', to: 'cancelled', actor: 'scheduler', surface: 'system', action: 'cancelled_campaign',
      set: { cancelled_reason: 'campaign_cancelled' },
    });
    const back = claims.filter((o) => !cancelled.has(o.m.campaignId)).map(({ m, closedAt }) => {
      if (closedAt === undefined) return { id: m.id, attempts: m.attempts };
      this.replanFrom(m.campaignId, closedAt);
      const at = this.nextSlot(closedAt, m);
      // No opening fits: the next claim finds it outside its windows and sends it for review.
      return { id: m.id, attempts: m.attempts, set: { scheduled_send_time: new Date(at === Infinity ? closedAt : at) } };
    });
    const returned = await transitionMessages(c, { rows: back, from: 'sending', to: 'approved', actor: 'scheduler', surface: 'system', action: PUT_BACK[why].action });
    stats.cancelled += dropped.moved.length;
    stats[PUT_BACK[why].stat] += returned.moved.length;
    const moved = new Set([...dropped.moved, ...returned.moved].map((m) => m.id));
    if (moved.size < claims.length) {
      this.ctx.log.warn('a claim that did not go was taken over before it was recorded; left to its new owner', {
        messageIds: claims.filter((o) => !moved.has(o.m.id)).map((o) => o.m.id),
      });
    }
    await enqueueCoalescedCards(c, claims.filter((o) => moved.has(o.m.id)).map((o) => o.m), now);
  }

  /** Each campaign that just saw failures: paused when they spike (a transaction each, after the record). */
  private async enforceErrorBudgets(campaignIds: Iterable<number>): Promise<void> {
    for (const campaignId of campaignIds) await this.ctx.db.tx((c) => enforceErrorBudget(c, this.ctx, campaignId));
  }

  /** Twilio 21610: the number opted out at the carrier. Record it like a STOP and cancel. */
  private async recordProviderOptOut(c: Queryable, m: Claimed, e: SmsSendError, now: Date): Promise<void> {
    await setContactStatus(c, { phone: m.phone, status: 'opted_out', keyword: e.providerCode ?? 'provider', source: 'provider', at: now });
    const r = await transitionMessage(c, {
      id: m.id, from: 'sending', to: 'cancelled', attempts: m.attempts, actor: 'provider', surface: 'sms',
      action: 'cancelled_opted_out', set: { cancelled_reason: 'opted_out', error_code: e.providerCode ?? null, last_error: e.message.slice(0, 500) },
    });
    if (r.ok) await enqueueCoalescedCards(c, [m], now);
    const others = await cancelPendingTo(c, this.ctx, m.phone, 'opted_out', 'provider');
    await postToThread(c, this.ctx.config, {
      campaignId: m.campaignId,
      batchId: m.batchId,
      key: `optout:provider:${m.id}:${m.attempts}`,
      message: {
        title: 'Opt-out (carrier)',
        text: `${maskPhone(m.phone)} has opted out at the carrier (error ${e.providerCode}): this message was not sent${
          others ? ` and ${others} other pending message${others === 1 ? '' : 's'} to the number were cancelled` : ''
        }.`,
        tone: 'warning',
      },
    });
  }

  /**
   * Settles what an earlier attempt left open: `sending` past its lease becomes `unknown`;
   * each `unknown` is looked up at the provider (by recipient and date, matched by body as
   * the provider may have transliterated it: see providerText.ts): found -> `sent`; absent ->
   * `approved` again (sent at the next tick) or, after maxAttempts, `needs_review`
   * (`cancelled` if its campaign was cancelled meanwhile). Absent while SMS to the number
   * that nothing accounts for are there, or found and claimed by a rival -> `needs_review`.
   * Provider errors leave it `unknown` for the next round.
   */
  async reconcileOnce(): Promise<{ expired: number; found: number; absent: number; review: number; cancelled: number }> {
    const out = { expired: 0, found: 0, absent: 0, review: 0, cancelled: 0 };
    const now = this.ctx.clock.now();
    const expired = await expiredSends(this.ctx.db.pool, new Date(now.getTime() - this.opts.leaseMs), 500);
    if (expired.length) {
      const r = await transitionMessages(this.ctx.db.pool, {
        rows: expired.map((e) => ({ id: Number(e.id), attempts: e.attempts })), from: 'sending', to: 'unknown',
        actor: 'reconciler', surface: 'system',
        set: { last_error: 'its sender stopped before recording the outcome (sending lease expired)' },
      });
      out.expired = r.moved.length;
    }
    const unknown = await unknownToReconcile(this.ctx.db.pool, new Date(now.getTime() - this.opts.settleMs), 100);
    // Found sent, and the carrier had already reported a failure: the error budget hears of it.
    const failedCampaigns = new Set<number>();
    for (const m of unknown) {
      let listed;
      try {
        listed = await this.sms.listSent(m.phone, new Date(m.last_attempt_at.getTime() - 5 * 60_000));
      } catch (e) {
        this.ctx.log.warn('cannot reconcile yet: the provider did not answer', { messageId: m.id, err: coerceError(e) });
        continue;
      }
      const { known, open } = await reconcilingTo(this.ctx.db.pool, m.phone, Number(m.id));
      // Answers to an inbound SMS (TwiML) are never a campaign message's.
      const free = listed.filter((l) => !known.has(l.providerMessageId) && l.direction !== 'outbound-reply');
      const found: ProviderMessage[] = [];
      for (const bubble of splitBubbles(m.body)) {
        const hit = free.find((l) => sameSmsText(l.body, bubble) && !found.includes(l));
        if (hit) found.push(hit);
      }
      const ids = found.map((l) => l.providerMessageId);
      // Another open message to the number with the same text may own what was found: guessing
      // could record as sent one that never went, and send the other again. One still being
      // sent is waited for (its record will claim its SMS); the unresolved ones all go to a
      // person together (one left alone would take the SMS in the next step, owner or not).
      const rivals = open.filter((r) => found.some((l) => isTextOf(l.body, r.body)));
      // Not found by its text, yet the provider shows SMS to the number that nothing here
      // accounts for (no test send, no open message's text): the provider may have changed or
      // dropped the text it keeps (content retention). Sending again could double it.
      const unexplained = ids.length
        ? []
        : free.filter((l) => !l.body.startsWith(TEST_SEND_PREFIX) && !open.some((r) => isTextOf(l.body, r.body)));
      if (rivals.some((r) => r.status === 'sending')) {
        this.ctx.log.info('reconciliation waits: a message to the same number with the same text is being sent', { messageId: m.id });
        continue;
      }
      await this.ctx.db.tx(async (c) => {
        // Claims that reached no provider (put back when a window closed or the campaign stopped,
        // or stopped before the call) bumped the attempts too, but sent nothing: they do not count toward review.
        const tries = m.attempts >= this.opts.maxAttempts ? m.attempts - (await claimsWithoutCall(c, Number(m.id), NO_CALL_ACTIONS)) : m.attempts;
        let r;
        if (rivals.length) {
          const group = [{ id: Number(m.id), attempts: m.attempts }, ...rivals.map((x) => ({ id: x.id }))];
          const moved = await transitionMessages(c, {
            rows: group.map((g) => ({ ...g, set: { last_error: ambiguousReason(group.filter((o) => o.id !== g.id).map((o) => o.id)) } })),
            from: 'unknown', to: 'needs_review', actor: 'reconciler', surface: 'system', action: 'reconciled_ambiguous',
          });
          out.review += moved.moved.length;
          const others = rivals.filter((x) => moved.moved.some((y) => y.id === x.id));
          await enqueueCoalescedCards(c, others, now);
          r = { ok: moved.moved.some((x) => x.id === Number(m.id)) };
        } else if (ids.length) {
          r = await transitionMessage(c, {
            id: Number(m.id), from: 'unknown', to: 'sent', attempts: m.attempts, actor: 'reconciler', surface: 'system',
            action: 'reconciled_sent',
            set: { provider_message_id: ids[0], extra_provider_ids: ids.slice(1), provider: this.sms.name, sent_at: now },
          });
          if (r.ok) {
            out.found++;
            // The provider may already know the outcome (the local outbox always does).
            if (found[0]!.status === 'delivered') {
              const d = await transitionMessage(c, {
                id: Number(m.id), from: 'sent', to: 'delivered', actor: 'provider', surface: 'sms', set: { delivered_at: now },
              });
              if (d.ok) r = d;
            }
          }
        } else if (unexplained.length) {
          r = await transitionMessage(c, {
            id: Number(m.id), from: 'unknown', to: 'needs_review', attempts: m.attempts, actor: 'reconciler', surface: 'system',
            action: 'reconciled_unexplained', set: { last_error: unexplainedReason(unexplained.length) },
          });
          if (r.ok) out.review++;
        } else if ((await cancelledCampaigns(c, [Number(m.campaign_id)])).size) {
          // Confirmed absent in a campaign cancelled since: its cancel only reached the pending messages.
          r = await transitionMessage(c, {
            id: Number(m.id), from: 'unknown', to: 'cancelled', attempts: m.attempts, actor: 'reconciler', surface: 'system',
            action: 'cancelled_campaign', set: { cancelled_reason: 'campaign_cancelled' },
          });
          if (r.ok) out.cancelled++;
        } else if (tries >= this.opts.maxAttempts) {
          r = await transitionMessage(c, {
            id: Number(m.id), from: 'unknown', to: 'needs_review', attempts: m.attempts, actor: 'reconciler', surface: 'system',
            set: { last_error: `not found at the provider after ${tries} attempts: check and approve again to retry` },
          });
          if (r.ok) out.review++;
        } else {
          // Confirmed absent: nothing went out, so it may go again (caps and windows are checked at claim).
          r = await transitionMessage(c, {
            id: Number(m.id), from: 'unknown', to: 'approved', attempts: m.attempts, actor: 'reconciler', surface: 'system',
            action: 'reconciled_absent', set: { scheduled_send_time: now },
          });
          if (r.ok) out.absent++;
        }
        if (r.ok) {
          const batchId = m.batch_id === null ? null : Number(m.batch_id);
          await enqueueCoalescedCards(c, [{ id: Number(m.id), batchId }], now);
          if (ids.length) for (const campaignId of await applyEarlyStatuses(c, this.ctx, ids.slice(0, 1))) failedCampaigns.add(campaignId);
        }
      });
    }
    await this.enforceErrorBudgets(failedCampaigns);
    return out;
  }
}

/** A reconciled message that cannot be told apart from `others` (same number, same text, one SMS found). */
function ambiguousReason(others: number[]): string {
  const them = others.length === 1 ? `message ${others[0]}` : `messages ${others.join(', ')}`;
  return `the provider shows an SMS with this text to this number, but ${them} to the same number with the same text ${others.length === 1 ? 'was' : 'were'} also unresolved, and only one SMS is there for them: check the provider's log before approving any of them again`;
}

/** A reconciled message not found by its text while other SMS to its number are unaccounted for. */
function unexplainedReason(n: number): string {
  return `no SMS with its text at the provider, but ${n === 1 ? 'an SMS' : `${n} SMS`} to this number since this attempt that no message here accounts for: the provider may have changed or dropped the text it keeps. Check the provider's log; approve again only if it did not go`;
}

/** Why claims go back on the timeline (see putBack): the audit action and the counter. */
const PUT_BACK = {
  window_closed: { action: 'rescheduled_window_closed', stat: 'rescheduled' },
  not_sending: { action: 'held_campaign_not_sending', stat: 'held' },
} as const;

/** The audit action of an attempt that stopped before its provider call, and the error codes that say so (see send). */
const UNKNOWN_BEFORE_CALL = 'unknown_before_provider_call';
const NO_CALL_CODES = ['claim_expired', 'look_failed'];

/** The audit actions of claims that reached no provider: put back, or stopped before the call. */
const NO_CALL_ACTIONS = [...Object.values(PUT_BACK).map((p) => p.action), UNKNOWN_BEFORE_CALL];

/** Re-plans tried in a row for one campaign before giving up (see replanRescheduled). */
const REPLAN_TRIES = 5;

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
