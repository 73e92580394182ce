import { ApiError } from "./client";
import { type AppendLogsAnswer, cutUtf8, droppedLine, type LogLineInput, LogShipper, type LogShipperLimits } from "./log-shipper";
import { ManualClock, settle } from "./manual-clock";
import { captureLogger } from "./test-logger";

/** A send whose answers the test gives by hand, one request at a time. */
class ManualSend {
  readonly requests: LogLineInput[][] = [];
  private answers: { lines: LogLineInput[]; resolve: (a: AppendLogsAnswer) => void; reject: (e: unknown) => void }[] = [];
  inFlight = 0;
  maxInFlight = 0;

  readonly send = (lines: LogLineInput[]): Promise<AppendLogsAnswer> => {
    this.requests.push(lines);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<AppendLogsAnswer>((resolve, reject) => this.answers.push({ lines, resolve, reject })).finally(() => (this.inFlight -= 1));
  };

  async answer(full = false): Promise<void> {
    const next = this.answers.shift();
    if (!next) throw new Error("no request waits for an answer");
    next.resolve({ accepted: next.lines.length, dropped: 0, full });
    await settle();
  }

  get waiting(): number {
    return this.answers.length;
  }

  async fail(err: unknown): Promise<void> {
    this.answers.shift()?.reject(err);
    await settle();
  }
}

/** A send that answers at once. */
function instantSend(full = () => false) {
  const requests: LogLineInput[][] = [];
  return { requests, send: async (lines: LogLineInput[]) => (requests.push(lines), { accepted: lines.length, dropped: 0, full: full() }) };
}

function shipper(send: (lines: LogLineInput[]) => Promise<AppendLogsAnswer>, clock: ManualClock, limits: Partial<LogShipperLimits> = {}) {
  const capture = captureLogger("debug");
  return { shipper: new LogShipper({ send, logger: capture.logger, clock, limits, random: () => 0 }), capture };
}

const texts = (requests: LogLineInput[][]) => requests.flat().map((l) => l.line);

describe("LogShipper", () => {
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock();
  });

  it("sends a batch 250 ms after its first line, in order, with the stream and the time read", async () => {
    const remote = instantSend();
    const { shipper: s } = shipper(remote.send, clock);
    s.push("STDOUT", "one");
    await clock.advance(100);
    s.push("STDERR", "two\r");
    s.push("STDOUT", "three");
    await clock.advance(149);
    expect(remote.requests).toEqual([]);
    await clock.advance(1);
    expect(remote.requests).toEqual([
      [
        { stream: "STDOUT", line: "one", at: "2030-01-01T00:00:00.000Z" },
        { stream: "STDERR", line: "two", at: "2030-01-01T00:00:00.100Z" },
        { stream: "STDOUT", line: "three", at: "2030-01-01T00:00:00.100Z" },
      ],
    ]);
  });

  it("sends at once at 200 lines or 64 KB, and no request carries more", async () => {
    const remote = instantSend();
    const { shipper: s } = shipper(remote.send, clock);
    for (let i = 0; i < 450; i++) s.push("STDOUT", `line ${i}`);
    await settle();
    expect(remote.requests.map((r) => r.length)).toEqual([200, 200]);
    await clock.advance(250);
    expect(remote.requests.map((r) => r.length)).toEqual([200, 200, 50]);
    expect(texts(remote.requests)).toEqual(Array.from({ length: 450 }, (_, i) => `line ${i}`));

    remote.requests.length = 0;
    const big = "x".repeat(4000);
    for (let i = 0; i < 17; i++) s.push("STDERR", big);
    await settle();
    expect(remote.requests.map((r) => r.length)).toEqual([16]);
  });

  it("keeps one request in flight and the order of lines", async () => {
    const remote = new ManualSend();
    const { shipper: s } = shipper(remote.send, clock);
    s.push("STDOUT", "a");
    await clock.advance(250);
    s.push("STDOUT", "b");
    s.push("STDERR", "c");
    await clock.advance(1000);
    expect(remote.requests).toHaveLength(1);
    await remote.answer();
    await clock.advance(0);
    expect(remote.requests).toHaveLength(2);
    await remote.answer();
    expect(texts(remote.requests)).toEqual(["a", "b", "c"]);
    expect(remote.maxInFlight).toBe(1);
  });

  it("cuts lines to 4096 bytes on a UTF-8 boundary", async () => {
    expect(Buffer.byteLength(cutUtf8("é".repeat(3000), 4096))).toBe(4096);
    expect(cutUtf8(`a${"é".repeat(3000)}`, 4096)).toBe(`a${"é".repeat(2047)}`);
    expect(cutUtf8("😀".repeat(2000), 4096)).toBe("😀".repeat(1024));
    expect(cutUtf8(`ab${"😀".repeat(2000)}`, 4096)).toBe(`ab${"😀".repeat(1023)}`);
    expect(cutUtf8("short", 4096)).toBe("short");
    const remote = instantSend();
    const { shipper: s } = shipper(remote.send, clock);
    s.push("STDOUT", `a${"é".repeat(3000)}`);
    await clock.advance(250);
    expect(Buffer.byteLength(remote.requests[0][0].line)).toBe(4095);
  });

  it("keeps at most 5000 lines waiting: drops the oldest and says so in their place", async () => {
    const remote = new ManualSend();
    const { shipper: s } = shipper(remote.send, clock);
    s.push("STDOUT", "first");
    await clock.advance(250);
    expect(remote.requests).toHaveLength(1);
    for (let i = 0; i < 5100; i++) s.push("STDOUT", `n${i}`);
    expect(s.pendingLines).toBe(5000);
    expect(s.counts.droppedHere).toBe(100);
    await remote.answer();
    expect(remote.requests).toHaveLength(2);
    expect(remote.requests[1][0]).toEqual({ stream: "STDERR", line: droppedLine(100), at: expect.any(String) });
    expect(remote.requests[1][0].line).toBe("[gx-agent] 100 lines dropped: the workload writes faster than they can be sent");
    expect(remote.requests[1][1].line).toBe("n100");
    expect(remote.requests[1]).toHaveLength(200);
    while (remote.waiting > 0) {
      await remote.answer();
      await clock.advance(250);
    }
    expect(remote.requests).toHaveLength(27);
    expect(texts(remote.requests)).toEqual(["first", droppedLine(100), ...Array.from({ length: 5000 }, (_, i) => `n${i + 100}`)]);
  });

  it("stops sending when the server says the log is full, with one warning", async () => {
    let full = false;
    const remote = instantSend(() => full);
    const { shipper: s, capture } = shipper(remote.send, clock);
    s.push("STDOUT", "a");
    await clock.advance(250);
    full = true;
    s.push("STDOUT", "b");
    await clock.advance(250);
    s.push("STDOUT", "c");
    await clock.advance(10_000);
    expect(texts(remote.requests)).toEqual(["a", "b"]);
    expect(s.isStopped).toBe(true);
    expect(capture.records.filter((l) => /log is full/.test(String(l.msg)))).toHaveLength(1);
    await expect(s.flush()).resolves.toBeUndefined();
  });

  it("retries a failed request with backoff, keeping its lines first", async () => {
    const remote = new ManualSend();
    const { shipper: s } = shipper(remote.send, clock);
    s.push("STDOUT", "a");
    await clock.advance(250);
    s.push("STDOUT", "b");
    await remote.fail(new ApiError("UNAVAILABLE", "AppendLogs: the log store is unavailable"));
    await clock.advance(999);
    expect(remote.requests).toHaveLength(1);
    await clock.advance(1);
    expect(remote.requests).toHaveLength(2);
    expect(remote.requests[1].map((l) => l.line)).toEqual(["a", "b"]);
    await remote.fail(new Error("socket hang up"));
    await clock.advance(1999);
    expect(remote.requests).toHaveLength(2);
    await clock.advance(1);
    await remote.answer();
    expect(remote.requests.map((r) => r.map((l) => l.line))).toEqual([["a"], ["a", "b"], ["a", "b"]]);
  });

  it("stops on a lost or forbidden answer; leaves out a batch refused as bad", async () => {
    const remote = new ManualSend();
    const { shipper: s } = shipper(remote.send, clock);
    s.push("STDOUT", "a");
    await clock.advance(250);
    await remote.fail(new ApiError("BAD_USER_INPUT", "bad line"));
    s.push("STDOUT", "b");
    await clock.advance(250);
    expect(remote.requests.map((r) => r.map((l) => l.line))).toEqual([["a"], ["b"]]);
    expect(s.counts.refused).toBe(1);
    await remote.fail(new ApiError("FORBIDDEN", "not your assignment"));
    s.push("STDOUT", "c");
    await clock.advance(60_000);
    expect(remote.requests).toHaveLength(2);
    expect(s.isStopped).toBe(true);
  });

  it("flush sends at once and resolves when everything is sent, or after its bounded wait", async () => {
    const remote = new ManualSend();
    const { shipper: s } = shipper(remote.send, clock);
    s.push("STDOUT", "a");
    let flushed = false;
    void s.flush(10_000).then(() => (flushed = true));
    await settle();
    expect(remote.requests).toHaveLength(1);
    s.push("STDERR", "b");
    await remote.answer();
    expect(remote.requests).toHaveLength(2);
    expect(flushed).toBe(false);
    await remote.answer();
    expect(flushed).toBe(true);

    s.push("STDOUT", "stuck");
    let gaveUp = false;
    void s.flush(10_000).then(() => (gaveUp = true));
    await clock.advance(9_999);
    expect(gaveUp).toBe(false);
    await clock.advance(1);
    expect(gaveUp).toBe(true);
  });
});
