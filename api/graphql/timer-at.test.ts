import { at } from "./timer-at";

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

const DAY = 86_400_000;

it("calls at a moment 30 days away (beyond setTimeout's 24.8 days), not at once", () => {
  const fn = jest.fn();
  at(new Date(Date.now() + 30 * DAY), fn);
  jest.advanceTimersByTime(1000);
  expect(fn).not.toHaveBeenCalled();
  jest.advanceTimersByTime(30 * DAY - 2000);
  expect(fn).not.toHaveBeenCalled();
  jest.advanceTimersByTime(1000);
  expect(fn).toHaveBeenCalledTimes(1);
});

it("calls a past moment at once, and a cancelled one never", () => {
  const past = jest.fn();
  at(new Date(Date.now() - 5), past);
  jest.advanceTimersByTime(0);
  expect(past).toHaveBeenCalledTimes(1);
  const cancelled = jest.fn();
  at(new Date(Date.now() + 40 * DAY), cancelled).cancel();
  jest.advanceTimersByTime(41 * DAY);
  expect(cancelled).not.toHaveBeenCalled();
});
