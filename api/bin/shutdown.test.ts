import pino from "pino";
import { Shutdown } from "./shutdown";

const quiet = pino({ level: "silent" });
const never = () => new Promise<void>(() => undefined);

describe("Shutdown", () => {
  it("stops in reverse order of registration, once, past a step that fails", async () => {
    const order: string[] = [];
    const s = new Shutdown(quiet, 1000, 5000);
    s.add("db", () => void order.push("db"));
    s.add("broken", () => Promise.reject(new Error("x")));
    s.add("http", () => void order.push("http"));
    await Promise.all([s.run(), s.run()]);
    expect(order).toEqual(["http", "db"]);
  });

  it("leaves a hanging step behind after its bound, and starts the rest without waiting once the total is spent", async () => {
    jest.useFakeTimers();
    try {
      const order: string[] = [];
      const s = new Shutdown(quiet, 100, 250);
      s.add("db", () => void order.push("db"));
      s.add("queue", never);
      s.add("redis", never);
      s.add("worker", never);
      let done = false;
      const running = s.run().then(() => (done = true));
      await jest.advanceTimersByTimeAsync(100);
      await jest.advanceTimersByTimeAsync(100);
      expect(done).toBe(false);
      await jest.advanceTimersByTimeAsync(50);
      await running;
      expect(done).toBe(true);
      expect(order).toEqual(["db"]);
    } finally {
      jest.useRealTimers();
    }
  });
});
