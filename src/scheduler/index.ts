/**
 * The scheduler service: Twilio webhooks on the app, the dispatch loop (a node-schedule
 * tick plus a timer to the next due slot), the reconciler, and the daily summary job.
 * `stop()` stops taking work and waits for in-flight sends to be recorded (SIGTERM drain).
 */
import type express from 'express';
import schedule from 'node-schedule';
import type { AppContext } from '../context.ts';
import { coerceError } from '../errors.ts';
import { mountTwilioWebhooks } from '../sms/webhooks.ts';
import type { SmsProvider } from '../sms/provider.ts';
import { DailySummarySchedule } from './dailySummary.ts';
import { Dispatcher, type DispatcherOptions } from './dispatcher.ts';
import { nextDueAt } from './queries.ts';

export interface SchedulerDeps {
  sms: SmsProvider;
  app: express.Express;
  /** Tuning for tests and benchmarks; production uses the defaults. */
  dispatcher?: Partial<DispatcherOptions>;
}

export async function startScheduler(ctx: AppContext, deps: SchedulerDeps): Promise<{ stop(): Promise<void> }> {
  mountTwilioWebhooks(deps.app, ctx);
  const loop = new DispatchLoop(ctx, new Dispatcher(ctx, deps.sms, deps.dispatcher));
  const jobs: schedule.Job[] = [];
  const summary = new DailySummarySchedule(ctx);
  const onTick = () => {
    loop.kick();
    summary.tick().catch((err: unknown) => ctx.log.error('daily summary failed; the next tick tries again', { err }));
  };
  const tick = ctx.config.scheduler.tickSeconds;
  if (Number.isInteger(tick) && 60 % tick === 0) {
    jobs.push(schedule.scheduleJob(`*/${tick} * * * * *`, onTick));
  } else {
    // Sub-second or uneven ticks (tests, benchmarks): node-schedule counts whole seconds.
    const t = setInterval(onTick, tick * 1000);
    loop.onStop(() => clearInterval(t));
  }
  loop.kick();
  ctx.log.info('scheduler started', { provider: deps.sms.name, tickSeconds: tick });
  return {
    async stop() {
      for (const j of jobs) j.cancel();
      await loop.stop();
      ctx.log.info('scheduler stopped: in-flight sends recorded');
    },
  };
}

/** Runs reconcile + dispatch rounds one at a time; kicks during a round coalesce into one more round. */
export class DispatchLoop {
  private running: Promise<void> | null = null;
  private again = false;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly stops: (() => void)[] = [];

  constructor(
    private readonly ctx: AppContext,
    private readonly dispatcher: Dispatcher,
  ) {}

  onStop(fn: () => void): void {
    this.stops.push(fn);
  }

  kick(): void {
    if (this.stopping) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.round().finally(() => {
      this.running = null;
      if (this.again && !this.stopping) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async round(): Promise<void> {
    try {
      await this.dispatcher.reconcileOnce();
      const r = await this.dispatcher.sendDue(() => this.stopping);
      await this.armTimer(r.claimed > 0);
    } catch (e) {
      this.ctx.log.error('dispatch round failed; the next tick retries', { err: coerceError(e) });
    }
  }

  /**
   * Wakes up right when the next slot is due, between ticks. A slot already due after a
   * round that sent nothing is held (caps, test mode): the tick retries it, no busy loop.
   */
  private async armTimer(progressed: boolean): Promise<void> {
    if (this.stopping) return;
    const next = await nextDueAt(this.ctx.db.pool);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!next) return;
    const delay = next.getTime() - this.ctx.clock.now().getTime();
    if (delay > this.ctx.config.scheduler.tickSeconds * 1000 || (delay <= 0 && !progressed)) return;
    this.timer = setTimeout(() => this.kick(), Math.max(0, delay));
  }

  /** Stops taking work and waits for the round in flight (its sends get recorded). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    for (const fn of this.stops) fn();
    while (this.running) await this.running;
  }
}
