/** A progress report: a fraction in [0, 1] and an optional message. */
export interface Progress {
  progress: number;
  message: string | null;
}

/**
 * Throttles progress reports: at most one send per `minIntervalMs`, never two in flight, and the latest value
 * always goes out (later, or at {@link ProgressReporter.flush}). Values superseded before they were sent are dropped.
 */
export class ProgressReporter {
  private latest: Progress | null = null;
  private lastSentAt = -Infinity;
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly send: (p: Progress) => Promise<void>,
    private readonly minIntervalMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a new value; it is sent as soon as the throttle allows. */
  push(p: Progress): void {
    if (this.closed) return;
    this.latest = p;
    this.schedule();
  }

  /** Sends the latest unsent value now (after any send in flight) and waits for it. */
  async flush(): Promise<void> {
    this.clearTimer();
    if (this.inFlight) await this.inFlight;
    if (this.latest && !this.closed) await this.sendLatest();
  }

  /** Stops sending: pending values are dropped. */
  close(): void {
    this.closed = true;
    this.latest = null;
    this.clearTimer();
  }

  private schedule(): void {
    if (this.inFlight || this.timer || this.closed) return;
    const wait = Math.max(0, this.lastSentAt + this.minIntervalMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.sendLatest();
    }, wait);
  }

  private sendLatest(): Promise<void> {
    const value = this.latest;
    if (!value || this.closed) return Promise.resolve();
    this.latest = null;
    this.lastSentAt = this.now();
    const sending = this.send(value)
      .catch(() => undefined)
      .finally(() => {
        this.inFlight = null;
        if (this.latest) this.schedule();
      });
    this.inFlight = sending;
    return sending;
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
