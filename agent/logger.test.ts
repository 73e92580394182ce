import { Writable } from "node:stream";
import { createAgentLogger } from "./logger";

describe("createAgentLogger", () => {
  it("never writes the key", () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const logger = createAgentLogger("info", sink as never);
    logger.info({ apiKey: "gx_secret", config: { apiKey: "gx_secret" }, headers: { authorization: "Bearer gx_secret" }, authorization: "Bearer gx_secret" }, "hello");
    expect(lines.join("")).toContain("hello");
    expect(lines.join("")).not.toContain("gx_secret");
  });
});
