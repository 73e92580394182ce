/**
 * Where services read the time of what they record (run time billed, leases, events). Production reads the system
 * clock; a test moves its own clock instead of sleeping until time has passed.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * A clock that runs with the system clock, ahead of it by what `advance` added: time a test skips over passes at
 * once, and the order of what is recorded with the system clock elsewhere (database defaults) is kept.
 */
export class SteppedClock implements Clock {
  private aheadMs = 0;

  now(): Date {
    return new Date(Date.now() + this.aheadMs);
  }

  /** Moves the clock `ms` forward (never back). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`a clock only moves forward; got ${ms} ms`);
    this.aheadMs += ms;
  }
}
