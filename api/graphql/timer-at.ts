/** The longest delay setTimeout takes (about 24.8 days); a later moment is reached in steps. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Calls `fn` at `at` (a Date), however far away; unref'd. Returns the means to cancel. */
export function at(when: Date, fn: () => void): { cancel(): void } {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = when.getTime() - Date.now();
    timer = left > MAX_TIMEOUT_MS ? setTimeout(arm, MAX_TIMEOUT_MS) : setTimeout(fn, Math.max(0, left));
    timer.unref();
  };
  arm();
  return { cancel: () => clearTimeout(timer) };
}
