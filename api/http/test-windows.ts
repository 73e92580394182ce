/** For the rate limiter's tests: the most of the sorted `times` (ms) that fall in any one window (t - windowMs, t]. */
export function busiestWindow(times: readonly number[], windowMs: number): number {
  let most = 0;
  for (let i = 0, start = 0; i < times.length; i++) {
    while (times[start] <= times[i] - windowMs) start++;
    most = Math.max(most, i - start + 1);
  }
  return most;
}
