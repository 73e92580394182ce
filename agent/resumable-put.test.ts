import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { isResumableUrl, putResumable, RESUMABLE_MIN_BYTES } from "./resumable-put";
import { createHttpTransfer } from "./transfer";

/** A server that has `stored` bytes of an upload, answering as /transfers does, and records what it was sent. */
describe("resumable PUT", () => {
  let server: http.Server;
  let base: string;
  let dir: string;
  let stored = 0;
  let movedOnce = false;
  const seen: { contentRange?: string; bodyBytes: number }[] = [];
  const size = RESUMABLE_MIN_BYTES + 1000;
  let file: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "gx-resumable-"));
    file = path.join(dir, "big.bin");
    await writeFile(file, Buffer.alloc(size, 7));
    server = http.createServer((req, res) => {
      let bodyBytes = 0;
      req.on("data", (c: Buffer) => (bodyBytes += c.length));
      req.on("end", () => {
        const contentRange = req.headers["content-range"];
        seen.push({ contentRange, bodyBytes });
        if (!contentRange) return void res.writeHead(201).end("{}");
        if (contentRange.startsWith("bytes */")) return void res.writeHead(202, { "upload-offset": String(stored) }).end("{}");
        const start = Number(/^bytes (\d+)-/.exec(contentRange)![1]);
        if (req.url?.includes("moving") && !movedOnce) {
          movedOnce = true;
          stored += 10;
        }
        if (start !== stored) return void res.writeHead(409, { "upload-offset": String(stored) }).end('{"error":{"message":"elsewhere"}}');
        stored += bodyBytes;
        res.writeHead(stored === size ? 201 : 202, { "upload-offset": String(stored) }).end("{}");
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
    seen.length = 0;
    movedOnce = false;
  });

  it("asks the offset, then sends only the bytes from there with their Content-Range", async () => {
    stored = 4096;
    const answer = await putResumable(`${base}/transfers/output/x?signature=s`, file, size, 10_000);
    expect(answer).toEqual({ status: 201, message: "{}", resumedFrom: 4096 });
    expect(seen).toEqual([
      { contentRange: `bytes */${size}`, bodyBytes: 0 },
      { contentRange: `bytes 4096-${size - 1}/${size}`, bodyBytes: size - 4096 },
    ]);
  });

  it("asks again when another request moved the offset (409 with Upload-Offset)", async () => {
    stored = 0;
    const answer = await putResumable(`${base}/transfers/output/moving?signature=s`, file, size, 10_000);
    expect(answer.status).toBe(201);
    expect(seen.map((s) => s.contentRange)).toEqual([`bytes */${size}`, `bytes 0-${size - 1}/${size}`, `bytes */${size}`, `bytes 10-${size - 1}/${size}`]);
  });

  it("goes resumably only for big files to the API's transfer URLs", async () => {
    expect(isResumableUrl("https://gx.example/transfers/output/1?x=1")).toBe(true);
    expect(isResumableUrl("https://bucket.s3.example/blobs/ab/abcd?X-Amz-Signature=1")).toBe(false);
    const small = path.join(dir, "small.bin");
    await writeFile(small, "abc");
    stored = 0;
    await createHttpTransfer().put(`${base}/transfers/output/small?s=1`, small, 3);
    await createHttpTransfer().put(`${base}/elsewhere/big?s=1`, file, size);
    expect(seen).toEqual([
      { contentRange: undefined, bodyBytes: 3 },
      { contentRange: undefined, bodyBytes: size },
    ]);
  });
});
