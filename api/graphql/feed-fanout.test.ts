import fc from "fast-check";
import type { ExecutionResult } from "graphql";
import * as ws from "ws";
import { FeedFanout, SLOW_CONSUMER_CLOSE, textFrame, type FeedSocket } from "./feed-fanout";

/** ws's frame parser (exported at runtime, absent from @types/ws). */
interface FrameReceiver {
  on(event: "message", listener: (data: Buffer, isBinary: boolean) => void): void;
  write(chunk: Buffer): void;
}
const { Receiver } = ws as unknown as { Receiver: new (options: { isServer: boolean }) => FrameReceiver };

/** Text messages in WebSocket frames, decoded by ws's own (client-side) receiver. */
function decodeFrames(bytes: Buffer): string[] {
  const out: string[] = [];
  const receiver = new Receiver({ isServer: false });
  receiver.on("message", (data, isBinary) => out.push(isBinary ? "<binary>" : data.toString("utf8")));
  receiver.write(bytes);
  return out;
}

/** A socket as the fan-out sees it: whole frames written to `_socket`, or messages through `send` when it has none. */
class FakeSocket implements FeedSocket {
  readyState = 1;
  bufferedAmount = 0;
  /** What went to the TCP socket, one entry per write. */
  writes: Buffer[] = [];
  sent: Buffer[] = [];
  closed?: { code: number; reason: string };
  readonly _socket?: { write(data: Buffer): boolean };
  constructor(raw = true) {
    if (raw) this._socket = { write: (data) => this.writes.push(data) > 0 };
  }
  send(data: Buffer): void {
    this.sent.push(data);
  }
  close(code: number, reason: string): void {
    this.closed = { code, reason };
    this.readyState = 2;
  }
  messages(): { id: string; type: string; payload: ExecutionResult }[] {
    const texts = [...decodeFrames(Buffer.concat(this.writes)), ...this.sent.map((b) => b.toString("utf8"))];
    return texts.map((t) => JSON.parse(t));
  }
}

/** A source the test drives: push, end, fail; counts return() calls. */
class Source implements AsyncIterableIterator<ExecutionResult> {
  private queue: ExecutionResult[] = [];
  private wake?: () => void;
  private ended = false;
  private error?: Error;
  returned = 0;
  push(n: number) {
    this.queue.push({ data: { n } });
    this.wake?.();
  }
  end() {
    this.ended = true;
    this.wake?.();
  }
  fail(error: Error) {
    this.error = error;
    this.wake?.();
  }
  async next(): Promise<IteratorResult<ExecutionResult>> {
    for (;;) {
      if (this.queue.length) return { value: this.queue.shift()!, done: false };
      if (this.error) throw this.error;
      if (this.ended) return { value: undefined, done: true };
      await new Promise<void>((r) => (this.wake = r));
    }
  }
  async return(): Promise<IteratorResult<ExecutionResult>> {
    this.returned++;
    this.end();
    return { value: undefined, done: true };
  }
  [Symbol.asyncIterator]() {
    return this;
  }
}

/** The fan-out writes on the turn after the events arrive: wait past it. */
const turn = () => new Promise((r) => setImmediate(() => setImmediate(r)));
const noError = () => undefined;

function setup(maxBuffered = 1024) {
  const sources: Source[] = [];
  const fanout = new FeedFanout(maxBuffered, (r) => r, noError);
  const start = jest.fn(async () => {
    const s = new Source();
    sources.push(s);
    return s;
  });
  return { fanout, start, sources };
}

const ns = (s: FakeSocket) => s.messages().map((m) => (m.payload.data as { n: number }).n);

describe("FeedFanout", () => {
  it("runs one source for every subscriber of the same operation and writes each of them the same frames in order", async () => {
    const { fanout, start, sources } = setup();
    const a = new FakeSocket();
    const b = new FakeSocket();
    const [ia, ib] = await Promise.all([fanout.join("k", start, "1", a), fanout.join("k", start, "1", b)]);
    expect(start).toHaveBeenCalledTimes(1);
    expect(fanout.size).toBe(2);
    sources[0].push(1);
    await turn();
    sources[0].push(2);
    await turn();
    expect(ns(a)).toEqual([1, 2]);
    expect(ns(b)).toEqual([1, 2]);
    expect(a.messages()[0]).toEqual({ id: "1", type: "next", payload: { data: { n: 1 } } });
    expect(a.writes[0]).toBe(b.writes[0]); // encoded once
    expect(ia).not.toHaveProperty("errors");
    expect(ib).not.toHaveProperty("errors");
  });

  it("uses each subscriber's own operation id", async () => {
    const { fanout, start, sources } = setup();
    const a = new FakeSocket();
    const b = new FakeSocket();
    await fanout.join("k", start, "a-id", a);
    await fanout.join("k", start, 'b"id', b);
    sources[0].push(7);
    await turn();
    expect(a.messages()[0].id).toBe("a-id");
    expect(b.messages()[0].id).toBe('b"id');
  });

  it("writes the events of one turn (an outbox batch) with one write per socket", async () => {
    const { fanout, start, sources } = setup();
    const a = new FakeSocket();
    await fanout.join("k", start, "1", a);
    sources[0].push(1);
    sources[0].push(2);
    sources[0].push(3);
    await turn();
    expect(ns(a)).toEqual([1, 2, 3]);
    expect(a.writes).toHaveLength(1);
  });

  it("sends messages through the WebSocket when it has no raw socket", async () => {
    const { fanout, start, sources } = setup();
    const a = new FakeSocket(false);
    await fanout.join("k", start, "1", a);
    sources[0].push(1);
    sources[0].push(2);
    await turn();
    expect(a.sent).toHaveLength(2);
    expect(ns(a)).toEqual([1, 2]);
  });

  it("frames text as ws reads it, at every length encoding (7-bit, 16-bit, 64-bit)", () => {
    for (const n of [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]) {
      const text = "x".repeat(n);
      expect(decodeFrames(textFrame(Buffer.from(text)))).toEqual([text]);
    }
    const two = Buffer.concat([textFrame(Buffer.from("é")), textFrame(Buffer.from("{}"))]);
    expect(decodeFrames(two)).toEqual(["é", "{}"]);
  });

  it("closes a slow consumer with 1013 and goes on serving the others", async () => {
    const { fanout, start, sources } = setup(100);
    const slow = new FakeSocket();
    const fast = new FakeSocket();
    const slowSub = (await fanout.join("k", start, "1", slow)) as AsyncIterableIterator<never>;
    await fanout.join("k", start, "1", fast);
    const ended = slowSub.next();
    slow.bufferedAmount = 101;
    sources[0].push(1);
    await turn();
    expect(slow.closed?.code).toBe(SLOW_CONSUMER_CLOSE);
    expect(slow.writes).toHaveLength(0);
    await expect(ended).resolves.toEqual({ value: undefined, done: true });
    sources[0].push(2);
    await turn();
    expect(ns(fast)).toEqual([1, 2]);
    expect(fanout.size).toBe(1);
  });

  it("stops the source when the last subscriber leaves, and starts a new one for the next", async () => {
    const { fanout, start, sources } = setup();
    const a = new FakeSocket();
    const sub = (await fanout.join("k", start, "1", a)) as AsyncIterableIterator<never>;
    await sub.return!();
    expect(sources[0].returned).toBe(1);
    expect(fanout.size).toBe(0);
    await fanout.join("k", start, "1", a);
    expect(start).toHaveBeenCalledTimes(2);
    sources[1].push(5);
    await turn();
    expect(ns(a)).toEqual([5]);
  });

  it("calls `joined` for a member joining a running group (a state feed's fresh state), not for the one that opened it", async () => {
    const { fanout, start } = setup();
    const joined = jest.fn();
    await fanout.join("k", start, "1", new FakeSocket(), joined);
    expect(joined).not.toHaveBeenCalled();
    await fanout.join("k", start, "1", new FakeSocket(), joined);
    await fanout.join("k", start, "2", new FakeSocket(), joined);
    expect(joined).toHaveBeenCalledTimes(2);
  });

  it("hands back a result that is not a stream (the operation's errors) and keeps nothing", async () => {
    const fanout = new FeedFanout(1024, (r) => r, noError);
    const refused: ExecutionResult = { errors: [] };
    const start = jest.fn(async () => refused);
    expect(await fanout.join("k", start, "1", new FakeSocket())).toBe(refused);
    expect(await fanout.join("k", start, "1", new FakeSocket())).toBe(refused);
    expect(start).toHaveBeenCalledTimes(2);
    expect(fanout.size).toBe(0);
  });

  it("ends every subscriber with the source's error, after the events before it", async () => {
    const errors: unknown[] = [];
    const fanout = new FeedFanout(1024, (r) => r, (e) => errors.push(e));
    const source = new Source();
    const a = new FakeSocket();
    const sub = (await fanout.join("k", async () => source, "1", a)) as AsyncIterableIterator<never>;
    const ended = sub.next();
    source.push(1);
    source.fail(new Error("fell behind"));
    await expect(ended).rejects.toThrow("fell behind");
    expect(ns(a)).toEqual([1]);
    expect(errors).toHaveLength(1);
    expect(fanout.size).toBe(0);
  });

  it("property: each subscriber receives exactly the events published while it was subscribed, in order", async () => {
    type Step = { t: "join"; who: number } | { t: "leave"; who: number } | { t: "event" };
    const step = fc.oneof(
      fc.record({ t: fc.constant("join" as const), who: fc.integer({ min: 0, max: 4 }) }),
      fc.record({ t: fc.constant("leave" as const), who: fc.integer({ min: 0, max: 4 }) }),
      fc.record({ t: fc.constant("event" as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps: Step[]) => {
        const { fanout, start, sources } = setup();
        const subs = new Map<number, { sock: FakeSocket; sub: AsyncIterableIterator<never>; expected: number[] }>();
        const done: { sock: FakeSocket; expected: number[] }[] = [];
        let n = 0;
        for (const s of steps) {
          if (s.t === "join" && !subs.has(s.who)) {
            const sock = new FakeSocket();
            subs.set(s.who, { sock, sub: (await fanout.join("k", start, String(s.who), sock)) as AsyncIterableIterator<never>, expected: [] });
          } else if (s.t === "leave" && subs.has(s.who)) {
            const e = subs.get(s.who)!;
            subs.delete(s.who);
            await e.sub.return!();
            done.push(e);
          } else if (s.t === "event" && subs.size > 0) {
            n++;
            sources.at(-1)!.push(n);
            for (const e of subs.values()) e.expected.push(n);
            await turn();
          }
        }
        for (const e of [...subs.values(), ...done]) expect(ns(e.sock)).toEqual(e.expected);
        expect(fanout.size).toBe(subs.size);
      }),
      { numRuns: 60 },
    );
  });
});
