import { StateHub } from "./state-hub";

/** A change source the test drives. */
class Changes implements AsyncIterator<unknown> {
  private queued = 0;
  private done = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;
  returned = 0;
  change() {
    this.queued++;
    this.wake?.();
  }
  fail(error: Error) {
    this.error = error;
    this.wake?.();
  }
  async next(): Promise<IteratorResult<unknown>> {
    for (;;) {
      if (this.queued > 0) {
        this.queued--;
        return { value: 1, done: false };
      }
      if (this.error) throw this.error;
      if (this.done) return { value: undefined, done: true };
      await new Promise<void>((r) => (this.wake = r));
    }
  }
  async return(): Promise<IteratorResult<unknown>> {
    this.returned++;
    this.done = true;
    this.wake?.();
    return { value: undefined, done: true };
  }
}

interface State {
  at: Date;
  n: number;
}

const settle = () => new Promise((r) => setTimeout(r, 5));

function setup() {
  const sources: Changes[] = [];
  let n = 0;
  let clock = 1_000;
  const compute = jest.fn(async (): Promise<State> => ({ at: new Date(clock++), n: ++n }));
  const errors: unknown[] = [];
  const hub = new StateHub<State>(
    () => {
      const s = new Changes();
      sources.push(s);
      return [s];
    },
    compute,
    0,
    (e) => errors.push(e),
  );
  return { hub, sources, compute, errors };
}

/** Reads a stream in the background into an array. */
function collect(stream: AsyncIterableIterator<State>) {
  const got: number[] = [];
  let error: unknown;
  const done = (async () => {
    try {
      for await (const s of stream) got.push(s.n);
    } catch (e) {
      error = e;
    }
  })();
  return { got, done, error: () => error, stop: () => stream.return!() };
}

describe("StateHub", () => {
  it("computes each change once for every subscriber of a key, after a state of its own for each", async () => {
    const { hub, sources, compute } = setup();
    const a = collect(hub.stream("m"));
    const b = collect(hub.stream("m"));
    await settle();
    expect(sources).toHaveLength(1);
    expect(compute).toHaveBeenCalledTimes(2); // the two first states
    sources[0].change();
    await settle();
    expect(compute).toHaveBeenCalledTimes(3);
    expect(a.got).toHaveLength(2);
    expect(b.got).toHaveLength(2);
    expect(a.got[1]).toBe(b.got[1]);
    expect(hub.size).toBe(2);
    await a.stop();
    await b.stop();
  });

  it("gives a slow subscriber the newest state, not every one it missed", async () => {
    const { hub, sources } = setup();
    const stream = hub.stream("m");
    expect((await stream.next()).value!.n).toBe(1);
    for (let i = 0; i < 5; i++) {
      sources[0].change();
      await settle();
    }
    expect((await stream.next()).value!.n).toBe(6);
    await stream.return!();
  });

  it("skips a shared state older than the subscriber's first", async () => {
    const { hub, sources, compute } = setup();
    const a = collect(hub.stream("m"));
    await settle();
    // the shared computation starts before b subscribes and ends after b's first state, with an older reading
    let finish: (s: State) => void = () => undefined;
    compute.mockImplementationOnce(() => new Promise<State>((r) => (finish = r)));
    sources[0].change();
    await settle();
    const b = collect(hub.stream("m"));
    await settle();
    finish({ at: new Date(1_000), n: 100 }); // a read at 1000, b at 1001
    await settle();
    expect(a.got).toEqual([1, 100]);
    expect(b.got).toEqual([2]);
    await a.stop();
    await b.stop();
  });

  it("returns the change sources when the last subscriber leaves, and listens anew for the next", async () => {
    const { hub, sources } = setup();
    const a = collect(hub.stream("m"));
    const b = collect(hub.stream("m"));
    await settle();
    await a.stop();
    expect(sources[0].returned).toBe(0);
    await b.stop();
    expect(sources[0].returned).toBe(1);
    expect(hub.size).toBe(0);
    const c = collect(hub.stream("m"));
    await settle();
    expect(sources).toHaveLength(2);
    sources[1].change();
    await settle();
    expect(c.got).toHaveLength(2);
    await c.stop();
  });

  it("refreshes on request, once for many requests in one gap, for every subscriber", async () => {
    const { hub, compute } = setup();
    const a = collect(hub.stream("m"));
    const b = collect(hub.stream("m"));
    await settle();
    hub.refresh("m");
    hub.refresh("m");
    hub.refresh("m");
    hub.refresh("other"); // no subscribers: nothing
    await settle();
    expect(compute).toHaveBeenCalledTimes(3);
    expect(a.got).toEqual([1, 3]);
    expect(b.got).toEqual([2, 3]);
    await a.stop();
    await b.stop();
  });

  it("reports a failed computation and goes on with the next change", async () => {
    const { hub, sources, compute, errors } = setup();
    const a = collect(hub.stream("m"));
    await settle();
    compute.mockImplementationOnce(async () => {
      throw new Error("database restarting");
    });
    sources[0].change();
    await settle();
    expect(errors).toHaveLength(1);
    sources[0].change();
    await settle();
    expect(a.got).toHaveLength(2);
    await a.stop();
  });

  it("ends every subscriber with a change source's error", async () => {
    const { hub, sources } = setup();
    const a = collect(hub.stream("m"));
    await settle();
    sources[0].fail(new Error("fell behind"));
    await a.done;
    expect((a.error() as Error).message).toBe("fell behind");
    expect(hub.size).toBe(0);
  });
});
