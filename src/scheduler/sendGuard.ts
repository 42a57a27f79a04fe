/**
 * The look right before each provider call: a STOP, a pause or a cancel committed while a
 * claimed batch waited for its turn (for earlier sends of the batch, or for a bubble gap)
 * still wins. Every call sees a look that began after it asked, so anything committed
 * before the call asked is seen. Calls that ask in the same turn, or while a look is in
 * flight, form a wave that shares the next look, which reads just their numbers and
 * campaigns: a batch pays a round trip per wave of calls, not per call.
 */
import type { Queryable } from '../db/database.ts';
import { sendConditions, type SendConditions } from './queries.ts';

/**
 * go: send; opted_out: never (cancel); not_sending: its campaign is not active (paused or
 * cancelled), or in test mode and this is not a test number (the record puts it back, or
 * cancels it in a cancelled campaign).
 */
export type SendVerdict = 'go' | 'opted_out' | 'not_sending';

interface Wave {
  phones: Set<string>;
  campaignIds: Set<number>;
  answer: Promise<SendConditions>;
}

export class SendGuard {
  /** The look in flight: a wave formed meanwhile starts after it (it may have begun before they asked). */
  private inFlight: Promise<unknown> = Promise.resolve();
  /** Calls waiting for the next look. */
  private wave: Wave | undefined;

  constructor(private readonly q: Queryable) {}

  /** Whether `m` may go now; `first`: its first bubble (later ones stop only for an opt-out: a message begun goes whole). */
  async verdict(m: { phone: string; campaignId: number }, first: boolean): Promise<SendVerdict> {
    const now = await this.look(m);
    if (now.optedOut.has(m.phone)) return 'opted_out';
    if (!first) return 'go';
    const c = now.campaigns.get(m.campaignId);
    return c?.status === 'active' && !(c.testMode && !c.testNumbers.includes(m.phone)) ? 'go' : 'not_sending';
  }

  private look(m: { phone: string; campaignId: number }): Promise<SendConditions> {
    if (!this.wave) {
      const phones = new Set<string>();
      const campaignIds = new Set<number>();
      const turnEnd = new Promise((r) => setImmediate(r));
      const answer = Promise.all([this.inFlight, turnEnd]).then(() => {
        this.wave = undefined; // who asks from now on waits for the next look
        const look = sendConditions(this.q, [...phones], [...campaignIds]);
        this.inFlight = look.catch(() => undefined);
        return look;
      });
      this.wave = { phones, campaignIds, answer };
    }
    this.wave.phones.add(m.phone);
    this.wave.campaignIds.add(m.campaignId);
    return this.wave.answer;
  }
}
