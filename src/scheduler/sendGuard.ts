/**
 * The look right before each provider call: a STOP, a pause or a cancel committed while a
 * claimed batch waited for its turn (for earlier sends of the batch, or for a bubble gap)
 * still wins. Every call sees a look that began after it asked, so anything committed
 * before the call asked is seen; calls that ask in the same turn, or while a look is in
 * flight, share the next one (one query answers for the whole batch), so the batch pays a
 * round trip per wave of calls, not per call.
 */
import type { Queryable } from '../db/database.ts';
import { sendConditions, type SendConditions } from './queries.ts';

/**
 * go: send; opted_out: never (cancel); not_sending: its campaign is not active (paused or
 * cancelled), or in test mode and this is not a test number (the record puts it back, or
 * cancels it in a cancelled campaign).
 */
export type SendVerdict = 'go' | 'opted_out' | 'not_sending';

export class SendGuard {
  private current: Promise<SendConditions> | undefined;
  private next: Promise<SendConditions> | undefined;
  private readonly phones: string[];
  private readonly campaignIds: number[];

  constructor(
    private readonly q: Queryable,
    batch: readonly { phone: string; campaignId: number }[],
  ) {
    this.phones = [...new Set(batch.map((m) => m.phone))];
    this.campaignIds = [...new Set(batch.map((m) => m.campaignId))];
  }

  /** Whether `m` may go now; `first`: its first bubble (later ones stop only for an opt-out: a message begun goes whole). */
  async verdict(m: { phone: string; campaignId: number }, first: boolean): Promise<SendVerdict> {
    const now = await this.look();
    if (now.optedOut.has(m.phone)) return 'opted_out';
    if (!first) return 'go';
    const c = now.campaigns.get(m.campaignId);
    return c?.status === 'active' && !(c.testMode && !c.testNumbers.includes(m.phone)) ? 'go' : 'not_sending';
  }

  private look(): Promise<SendConditions> {
    // Calls that ask in the same turn share one look, begun after all of them asked and after
    // the look in flight (which may have begun before they asked) is done.
    this.next ??= Promise.all([this.current?.catch(() => undefined), new Promise((r) => setImmediate(r))]).then(() => {
      this.next = undefined;
      return this.start();
    });
    return this.next;
  }

  private start(): Promise<SendConditions> {
    const look = sendConditions(this.q, this.phones, this.campaignIds).finally(() => {
      if (this.current === look) this.current = undefined;
    });
    this.current = look;
    return look;
  }
}
