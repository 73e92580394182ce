import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { answerMessage, createHttpTransfer, redact, sha256File } from "./transfer";

describe("HTTP transfer", () => {
  let server: http.Server;
  let base: string;
  let dir: string;
  const received: { method: string; headers: http.IncomingHttpHeaders; body: Buffer }[] = [];
  let failuresLeft = 0;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "gx-transfer-"));
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        received.push({ method: req.method ?? "", headers: req.headers, body: Buffer.concat(chunks) });
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          res.writeHead(503).end();
        } else if (req.url?.startsWith("/bad")) res.writeHead(409).end();
        else if (req.method === "GET" && req.url?.startsWith("/ckpt")) res.writeHead(200).end("checkpoint-bytes");
        else if (req.method === "GET") res.writeHead(404).end();
        else res.writeHead(201).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    received.length = 0;
    failuresLeft = 0;
  });

  const transfer = createHttpTransfer({ retryBaseMs: 1, attempts: 3 });

  it("PUTs the bytes as application/octet-stream with their length, retrying 5xx", async () => {
    const file = path.join(dir, "c.bin");
    await writeFile(file, "0123456789");
    failuresLeft = 1;
    await expect(transfer.upload(`${base}/checkpoints/1?sig=abc`, file, 10)).resolves.toBe(201);
    expect(received).toHaveLength(2);
    expect(received[1]).toMatchObject({ method: "PUT", body: Buffer.from("0123456789") });
    expect(received[1].headers).toMatchObject({ "content-type": "application/octet-stream", "content-length": "10" });
    expect(received[1].headers.authorization).toBeUndefined();
  });

  it("returns a 4xx status without retrying", async () => {
    const file = path.join(dir, "d.bin");
    await writeFile(file, "x");
    await expect(transfer.upload(`${base}/bad`, file, 1)).resolves.toBe(409);
    expect(received).toHaveLength(1);
  });

  it("downloads to a private file and hashes it", async () => {
    const file = path.join(dir, "resume.ckpt");
    const digest = await transfer.download(`${base}/ckpt?sig=1`, file);
    expect(digest).toEqual({ sha256: createHash("sha256").update("checkpoint-bytes").digest("hex"), sizeBytes: 16 });
    expect(await readFile(file, "utf8")).toBe("checkpoint-bytes");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await expect(sha256File(file)).resolves.toEqual(digest);
    await expect(transfer.download(`${base}/missing`, path.join(dir, "none"))).rejects.toThrow(/404/);
  });

  it("PUTs once without retrying and returns the status with the answer's message", async () => {
    const file = path.join(dir, "e.bin");
    await writeFile(file, "abc");
    failuresLeft = 1;
    await expect(transfer.put(`${base}/outputs/x?sig=1`, file, 3)).resolves.toEqual({ status: 503, message: "" });
    expect(received).toHaveLength(1);
    await expect(transfer.put(`${base}/outputs/x?sig=1`, file, 3)).resolves.toEqual({ status: 201, message: "" });
    const aborted = new AbortController();
    aborted.abort();
    await expect(transfer.put(`${base}/outputs/x`, file, 3, aborted.signal)).rejects.toThrow(/aborted/);
    await expect(transfer.put("http://127.0.0.1:1/x", file, 3)).rejects.toMatchObject({ retryable: true });
  });

  it("reads the message of an error answer", () => {
    expect(answerMessage('{"error":{"code":"BAD_USER_INPUT","message":"sha256 mismatch"}}')).toBe("sha256 mismatch");
    expect(answerMessage('{"message":"too large"}')).toBe("too large");
    expect(answerMessage("<?xml version=\"1.0\"?><Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds the maximum</Message></Error>")).toBe("Your proposed upload exceeds the maximum");
    expect(answerMessage("  plain\n text ")).toBe("plain text");
    expect(answerMessage("x".repeat(400))).toHaveLength(301);
  });

  it("keeps signatures out of messages", () => {
    expect(redact("http://h/checkpoints/1?expires=1&signature=abc")).toBe("http://h/checkpoints/1?…");
  });
});

describe("resumable downloads", () => {
  const body = Buffer.alloc(256 * 1024);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7 + (i >> 8)) & 0xff;
  const sha = createHash("sha256").update(body).digest("hex");
  let server: http.Server;
  let base: string;
  let dir: string;
  let ranges: (string | undefined)[] = [];
  /** How the next GETs answer: cut off after some bytes, or whole (honouring Range unless told to ignore it). */
  let plan: ("cut" | "range" | "ignore-range" | "bad-range")[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "gx-resume-"));
    server = http.createServer((req, res) => {
      ranges.push(req.headers.range);
      const step = plan.shift() ?? "range";
      const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? "")?.[1] ?? 0);
      if (step === "cut") {
        res.writeHead(from > 0 ? 206 : 200, { "content-length": String(body.length - from), ...(from > 0 ? { "content-range": `bytes ${from}-${body.length - 1}/${body.length}` } : {}) });
        res.write(body.subarray(from, from + 64 * 1024), () => setTimeout(() => res.destroy(), 50));
      } else if (step === "bad-range" && from > 0) {
        res.writeHead(206, { "content-range": `bytes 0-${body.length - 1}/${body.length}` }).end(body);
      } else if (from > 0 && step === "range") {
        res.writeHead(206, { "content-range": `bytes ${from}-${body.length - 1}/${body.length}` }).end(body.subarray(from));
      } else res.writeHead(200).end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    ranges = [];
    plan = [];
  });

  const waits: number[] = [];
  const transfer = createHttpTransfer({ attempts: 3, sleep: async (ms) => void waits.push(ms) });

  it("continues a broken download with Range after hashing the bytes on disk", async () => {
    plan = ["cut", "cut", "range"];
    const file = path.join(dir, "resumed.bin");
    await expect(transfer.download(`${base}/in?sig=1`, file)).resolves.toEqual({ sha256: sha, sizeBytes: body.length });
    expect(ranges[0]).toBeUndefined();
    const offsets = ranges.slice(1).map((r) => Number(/^bytes=(\d+)-$/.exec(r ?? "")?.[1]));
    expect(offsets).toHaveLength(2);
    expect(offsets[0]).toBeGreaterThan(0);
    expect(offsets[1]).toBeGreaterThan(offsets[0]);
    expect((await readFile(file)).equals(body)).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(waits.length).toBeGreaterThan(0);
  });

  it("starts over when the server answers 200 to the range, or a range that starts elsewhere", async () => {
    plan = ["cut", "ignore-range"];
    const file = path.join(dir, "whole.bin");
    await expect(transfer.download(`${base}/in`, file)).resolves.toEqual({ sha256: sha, sizeBytes: body.length });
    expect(ranges).toHaveLength(2);
    expect(ranges[1]).toMatch(/^bytes=\d+-$/);
    expect((await readFile(file)).equals(body)).toBe(true);

    plan = ["cut", "bad-range", "range"];
    ranges = [];
    const again = path.join(dir, "again.bin");
    await expect(transfer.download(`${base}/in`, again)).resolves.toEqual({ sha256: sha, sizeBytes: body.length });
    expect(ranges[2]).toBeUndefined();
    expect((await readFile(again)).equals(body)).toBe(true);
  });

  it("gives up after its tries without progress and leaves no partial file", async () => {
    const file = path.join(dir, "never.bin");
    await expect(transfer.download("http://127.0.0.1:1/in", file)).rejects.toThrow();
    await expect(stat(file)).rejects.toThrow();
  });
});
