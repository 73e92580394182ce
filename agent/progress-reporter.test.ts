import { type Progress, ProgressReporter } from "./progress-reporter";

describe("ProgressReporter", () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it("sends at most one report per interval and always the latest", async () => {
    const sent: Progress[] = [];
    const reporter = new ProgressReporter(async (p) => void sent.push(p), 1000, () => Date.now());
    reporter.push({ progress: 0.1, message: null });
    await jest.advanceTimersByTimeAsync(0);
    reporter.push({ progress: 0.2, message: null });
    reporter.push({ progress: 0.3, message: "c" });
    await jest.advanceTimersByTimeAsync(500);
    expect(sent.map((p) => p.progress)).toEqual([0.1]);
    await jest.advanceTimersByTimeAsync(600);
    expect(sent.map((p) => p.progress)).toEqual([0.1, 0.3]);
    reporter.push({ progress: 0.9, message: null });
    await reporter.flush();
    expect(sent.map((p) => p.progress)).toEqual([0.1, 0.3, 0.9]);
    await jest.advanceTimersByTimeAsync(5000);
    expect(sent).toHaveLength(3);
  });

  it("drops everything once closed", async () => {
    const sent: Progress[] = [];
    const reporter = new ProgressReporter(async (p) => void sent.push(p), 1000);
    reporter.close();
    reporter.push({ progress: 0.5, message: null });
    await reporter.flush();
    await jest.advanceTimersByTimeAsync(2000);
    expect(sent).toEqual([]);
  });
});
