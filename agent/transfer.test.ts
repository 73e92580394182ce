import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { createHttpTransfer, redact, sha256File } from "./transfer";

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

  it("keeps signatures out of messages", () => {
    expect(redact("http://h/checkpoints/1?expires=1&signature=abc")).toBe("http://h/checkpoints/1?…");
  });
});
