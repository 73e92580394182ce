import type { Clock } from "./clock";

/** A {@link Clock} for tests: time moves only with {@link ManualClock.advance}, which runs the timers due in order. */
export class ManualClock implements Clock {
  private time: number;
  private nextId = 1;
  private timers: { id: number; at: number; fn: () => void }[] = [];
  /** Every delay asked for, in order. */
  readonly delays: number[] = [];

  constructor(start = Date.UTC(2030, 0, 1)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.delays.push(ms);
    this.timers.push({ id, at: this.time + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Timers waiting. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, running each timer that falls due (and letting promises settle after each). */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await settle();
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = due.at;
      due.fn();
      await settle();
    }
    this.time = end;
    await settle();
  }

  /** Runs the next timer, however far off, and returns the delay it had from now; undefined when none waits. */
  async runNext(): Promise<number | undefined> {
    await settle();
    const next = [...this.timers].sort((a, b) => a.at - b.at || a.id - b.id)[0];
    if (!next) return undefined;
    const wait = next.at - this.time;
    await this.advance(wait);
    return wait;
  }
}

/** Lets pending promise callbacks and I/O callbacks run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}
