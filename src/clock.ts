/** Time as a dependency: the scheduler, planner and tests share one notion of "now". */
export interface Clock {
  now(): Date;
  /** Waits `ms` of this clock's time (a fast clock waits less real time); absent: `ms` of real time. */
  sleep?(ms: number): Promise<void>;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that only moves when told to: for tests and the demo's fast-forward. */
export class ManualClock implements Clock {
  private t: number;
  constructor(start: Date | string | number = Date.now()) {
    this.t = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  set(t: Date | string | number): void {
    this.t = new Date(t).getTime();
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** A clock that runs `factor` times faster than real time from `start` (the demo's fast clock). */
export class ScaledClock implements Clock {
  private readonly realStart = Date.now();
  private readonly start: number;
  constructor(
    private readonly factor: number,
    start: Date | number = Date.now(),
  ) {
    this.start = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.start + (Date.now() - this.realStart) * this.factor);
  }
  sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms / this.factor));
  }
}
