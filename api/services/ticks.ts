/**
 * Ticks whenever any source yields, at most once per `minGapMs` (events inside a gap fold into one tick), until the
 * consumer stops or a source ends; stopping returns every source.
 */
export async function* ticks(sources: readonly AsyncIterator<unknown>[], minGapMs: number): AsyncGenerator<void> {
  let pending = false;
  let ended: unknown = undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const pumps = sources.map(async (source) => {
    try {
      for (;;) {
        const next = await source.next();
        if (next.done) break;
        pending = true;
        notify();
      }
    } catch (err) {
      ended = err;
    }
    ended ??= "done";
    notify();
  });
  try {
    for (;;) {
      if (!pending && ended === undefined) await new Promise<void>((resolve) => (wake = resolve));
      if (ended !== undefined && !pending) {
        if (ended instanceof Error) throw ended;
        return;
      }
      pending = false;
      yield;
      await new Promise((resolve) => setTimeout(resolve, minGapMs));
    }
  } finally {
    await Promise.all(sources.map((s) => s.return?.()));
    void pumps;
  }
}
