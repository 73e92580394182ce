import type { Logger } from "pino";
import { backoffMs } from "./backoff";
import { isAuthError, isLostError, isPassingError } from "./client";
import { type Clock, realClock } from "./clock";
import { errorText } from "./error-text";

/** The stream of a log line, as AppendLogs names it. */
export type LogStream = "STDOUT" | "STDERR";

/** One line as AppendLogs takes it. */
export interface LogLineInput {
  stream: LogStream;
  line: string;
  /** ISO 8601, when the agent read the line. */
  at: string;
}

/** AppendLogs' answer. */
export interface AppendLogsAnswer {
  accepted: number;
  dropped: number;
  full: boolean;
}

/** Limits and timing of a {@link LogShipper}; the defaults are the protocol's. */
export interface LogShipperLimits {
  /** A batch goes this long after its first line at the latest (250 ms). */
  flushMs: number;
  /** ... or at once when this many lines wait (200), which is also the most a request carries. */
  batchLines: number;
  /** ... or at once when this many bytes of line text wait (64 KB), also the most a request carries. */
  batchBytes: number;
  /** Lines are cut to this many bytes of UTF-8, on a character boundary (4096). */
  lineBytes: number;
  /** Most lines waiting in memory (5000); beyond, the oldest waiting are dropped and counted. */
  maxWaiting: number;
  /** First retry delay of a failed request (1 s), doubled up to `retryMaxMs` (30 s). */
  retryBaseMs: number;
  retryMaxMs: number;
}

export const LOG_LIMITS: LogShipperLimits = {
  flushMs: 250,
  batchLines: 200,
  batchBytes: 64 * 1024,
  lineBytes: 4096,
  maxWaiting: 5000,
  retryBaseMs: 1000,
  retryMaxMs: 30_000,
};

/** Options of {@link LogShipper}. */
export interface LogShipperOptions {
  /** Sends one batch (AppendLogs); throws ApiError. */
  send: (lines: LogLineInput[]) => Promise<AppendLogsAnswer>;
  logger: Logger;
  clock?: Clock;
  limits?: Partial<LogShipperLimits>;
  random?: () => number;
}

/** The line sent in place of lines dropped because the workload wrote faster than they could be sent. */
export function droppedLine(count: number): string {
  return `[gx-agent] ${count} lines dropped: the workload writes faster than they can be sent`;
}

/** `text` cut to at most `maxBytes` bytes of UTF-8, never inside a character. */
export function cutUtf8(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString("utf8");
}

interface Entry extends LogLineInput {
  bytes: number;
  /** When the agent read it (clock ms). */
  readAt: number;
  /** Set on the line standing for this many dropped lines. */
  stands?: number;
}

/**
 * Ships a workload's log lines to AppendLogs: batched (a batch goes `flushMs` after its first line, or at once at
 * `batchLines` lines or `batchBytes` bytes), one request in flight at a time, order kept. Bounded: at most
 * `maxWaiting` lines wait; beyond, the oldest waiting are dropped and counted, and {@link droppedLine} goes in their
 * place once there is room. A request that failed for a passing reason (network, 5xx, UNAVAILABLE) is retried with
 * backoff, its lines kept (within the bound); a batch refused otherwise (a bad request) is left out. An answer with
 * `full: true` stops the sending (a warning, once), and so does a lost, forbidden or unauthenticated answer.
 */
export class LogShipper {
  private readonly limits: LogShipperLimits;
  private readonly clock: Clock;
  private readonly log: Logger;
  private waiting: Entry[] = [];
  private head = 0;
  private waitingBytes = 0;
  private dropped = 0;
  private droppedAt = "";
  private inFlight = false;
  private timer: unknown = null;
  private retryTimer: unknown = null;
  private failures = 0;
  private stopped = false;
  private flushing = false;
  private idleWaiters: (() => void)[] = [];
  /** Lines accepted, dropped here (the bound), dropped by the server, and in batches it refused. */
  readonly counts = { sent: 0, droppedHere: 0, droppedByServer: 0, refused: 0 };

  constructor(private readonly options: LogShipperOptions) {
    this.limits = { ...LOG_LIMITS, ...options.limits };
    this.clock = options.clock ?? realClock;
    this.log = options.logger;
  }

  /** Lines waiting to be sent. */
  get pendingLines(): number {
    return this.waiting.length - this.head;
  }

  /** Whether it has stopped for good (full, lost, closed). */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Queues one line (a trailing `\r` is removed, the line cut to `lineBytes`). */
  push(stream: LogStream, text: string): void {
    if (this.stopped) return;
    const line = cutUtf8(text.endsWith("\r") ? text.slice(0, -1) : text, this.limits.lineBytes);
    const now = this.clock.now();
    this.waiting.push({ stream, line, at: new Date(now).toISOString(), bytes: Buffer.byteLength(line, "utf8"), readAt: now });
    this.waitingBytes += this.waiting[this.waiting.length - 1].bytes;
    this.enforceBound();
    this.schedule();
  }

  /**
   * Sends what waits now and resolves once nothing waits and nothing is in flight, or it stopped, or after
   * `maxWaitMs` (whatever is left then is not waited for).
   */
  flush(maxWaitMs = 10_000): Promise<void> {
    if (this.idle()) return Promise.resolve();
    this.flushing = true;
    return new Promise<void>((resolve) => {
      const deadline = this.clock.setTimeout(() => done(), maxWaitMs);
      const done = () => {
        this.clock.clearTimeout(deadline);
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        resolve();
      };
      this.idleWaiters.push(done);
      this.kick();
    });
  }

  /** Stops for good: nothing more is sent (a request in flight is left to end), waiting lines are let go. */
  close(): void {
    this.stop();
  }

  private idle(): boolean {
    return this.stopped || (!this.inFlight && this.pendingLines === 0 && this.dropped === 0);
  }

  private stop(): void {
    this.stopped = true;
    this.waiting = [];
    this.head = 0;
    this.waitingBytes = 0;
    this.dropped = 0;
    this.clock.clearTimeout(this.timer);
    this.clock.clearTimeout(this.retryTimer);
    this.timer = this.retryTimer = null;
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (!this.idle()) return;
    this.flushing = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Drops the oldest waiting lines beyond the bound; a dropped stand-in line gives its count back. */
  private enforceBound(): void {
    while (this.pendingLines > this.limits.maxWaiting) {
      const oldest = this.waiting[this.head];
      this.head += 1;
      this.waitingBytes -= oldest.bytes;
      if (oldest.stands !== undefined) this.dropped += oldest.stands;
      else {
        this.dropped += 1;
        this.counts.droppedHere += 1;
      }
      this.droppedAt = oldest.at;
    }
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
  }

  /** Sends now when a batch is full (or flushing), else arms the timer for the oldest waiting line. */
  private schedule(): void {
    if (this.stopped || this.inFlight || this.retryTimer !== null) return;
    if (this.pendingLines === 0 && this.dropped === 0) return;
    if (this.flushing || this.pendingLines >= this.limits.batchLines || this.waitingBytes >= this.limits.batchBytes) {
      this.kick();
      return;
    }
    if (this.timer !== null) return;
    const oldest = this.pendingLines > 0 ? this.waiting[this.head].readAt : this.clock.now();
    const delay = Math.max(0, this.limits.flushMs - (this.clock.now() - oldest));
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.kick();
    }, delay);
  }

  private kick(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped || this.inFlight || this.retryTimer !== null) return;
    const batch = this.takeBatch();
    if (batch.length === 0) {
      this.notifyIdle();
      return;
    }
    this.inFlight = true;
    void this.options
      .send(batch.map(({ stream, line, at }) => ({ stream, line, at })))
      .then(
        (answer) => this.onSent(answer),
        (err: unknown) => this.onFailed(batch, err),
      )
      .finally(() => {
        this.inFlight = false;
        if (!this.stopped && this.retryTimer === null) this.schedule();
        this.notifyIdle();
      });
  }

  /** Up to `batchLines` lines and `batchBytes` bytes (at least one line), the stand-in for dropped lines first. */
  private takeBatch(): Entry[] {
    const batch: Entry[] = [];
    let bytes = 0;
    if (this.dropped > 0) {
      const line = droppedLine(this.dropped);
      batch.push({ stream: "STDERR", line, at: this.droppedAt, bytes: Buffer.byteLength(line), readAt: this.clock.now(), stands: this.dropped });
      bytes += batch[0].bytes;
      this.dropped = 0;
    }
    while (this.pendingLines > 0 && batch.length < this.limits.batchLines) {
      const next = this.waiting[this.head];
      if (batch.length > 0 && bytes + next.bytes > this.limits.batchBytes) break;
      batch.push(next);
      bytes += next.bytes;
      this.head += 1;
      this.waitingBytes -= next.bytes;
    }
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    }
    return batch;
  }

  private onSent(answer: AppendLogsAnswer): void {
    this.failures = 0;
    this.counts.sent += answer.accepted;
    this.counts.droppedByServer += answer.dropped;
    if (answer.full) {
      if (!this.stopped) this.log.warn({ sent: this.counts.sent, droppedByServer: this.counts.droppedByServer }, "the job's log is full on the server; no more log lines are sent");
      this.stop();
    }
  }

  private onFailed(batch: Entry[], err: unknown): void {
    if (this.stopped) return;
    if (isLostError(err) || isAuthError(err)) {
      this.log.warn({ err: errorText(err) }, "AppendLogs refused; no more log lines are sent");
      this.stop();
      return;
    }
    if (!isPassingError(err)) {
      this.counts.refused += batch.length;
      this.log.warn({ err: errorText(err), lines: batch.length }, "AppendLogs refused a batch of log lines; they are left out");
      return;
    }
    this.failures += 1;
    this.log.debug({ err: errorText(err), failures: this.failures }, "AppendLogs failed; will retry");
    // put the batch back in front (the stand-in line back into the dropped count), then keep the bound
    const lines = batch.filter((e) => e.stands === undefined);
    const stands = batch.find((e) => e.stands !== undefined);
    if (stands) {
      this.dropped += stands.stands as number;
      this.droppedAt = stands.at;
    }
    this.waiting = [...lines, ...this.waiting.slice(this.head)];
    this.head = 0;
    this.waitingBytes += lines.reduce((n, e) => n + e.bytes, 0);
    this.enforceBound();
    const delay = backoffMs(this.failures - 1, this.limits.retryBaseMs, this.limits.retryMaxMs, this.options.random);
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = null;
      this.kick();
    }, delay);
  }
}
