import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { actor, eventually } from "../builders";
import { op } from "../contract";
import { gql, startTestServer, type TestServer } from "../harness";
import { dataDir, must, put, sha } from "./data-plane";

jest.setTimeout(180_000);

const ROOT = join(__dirname, "..", "..", "..");
const MiB = 1024 * 1024;
let server: TestServer;
let work: string;
const DATA_DIR = dataDir("resumable");
const blobFile = (sha256: string) => join(DATA_DIR, "blobs", sha256.slice(0, 2), sha256);
beforeAll(async () => {
  server = await startTestServer({ DATA_DIR });
  work = mkdtempSync(join(tmpdir(), "gx-resumable-"));
});
afterAll(async () => {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
});

const reserveInput = async (name: string, bytes: Buffer) => {
  const client = await actor(server);
  const r = must(await gql(server.url, op("CreateInputUpload"), { input: { name, sizeBytes: String(bytes.length), sha256: sha(bytes) } }, client.token)).createInputUpload;
  return { url: r.uploadUrl as string, id: r.artifact.id as string };
};
const storedOf = async (id: string) => (await server.system.db.query(`SELECT stored_at FROM artifacts WHERE id = $1`, [id]))[0].stored_at as Date | null;
const range = (header: string, body: Buffer = Buffer.alloc(0)) => put(url_, body, { "content-range": header });
let url_ = "";

describe("resumable uploads through the signed URL", () => {
  it("answers the offset, appends at it, refuses another offset or size, and serves nothing before the last byte", async () => {
    const bytes = randomBytes(12 * MiB + 7);
    const { url, id } = await reserveInput("ckpt.bin", bytes);
    url_ = url;
    const total = bytes.length;
    const asked = await fetch(url, { method: "PUT", headers: { "content-range": `bytes */${total}` } });
    expect(asked.status).toBe(202);
    expect(asked.headers.get("upload-offset")).toBe("0");
    expect(await asked.json()).toMatchObject({ stored: false, offset: "0", sizeBytes: String(total) });
    expect((await range(`bytes */${total + 1}`)).status).toBe(400);
    expect((await range("bytes 0-9/*")).body.error.code).toBe("BAD_USER_INPUT");

    const first = await fetch(url, { method: "PUT", body: bytes.subarray(0, 5 * MiB), headers: { "content-range": `bytes 0-${5 * MiB - 1}/${total}` } });
    expect(first.status).toBe(202);
    expect(first.headers.get("upload-offset")).toBe(String(5 * MiB));
    expect(first.headers.get("range")).toBe(`bytes=0-${5 * MiB - 1}`);
    const elsewhere = await fetch(url, { method: "PUT", body: bytes.subarray(6 * MiB), headers: { "content-range": `bytes ${6 * MiB}-${total - 1}/${total}` } });
    expect(elsewhere.status).toBe(409);
    expect(elsewhere.headers.get("upload-offset")).toBe(String(5 * MiB));
    expect(await storedOf(id)).toBeNull();
    expect(existsSync(blobFile(sha(bytes)))).toBe(false);

    const rest = await range(`bytes ${5 * MiB}-${total - 1}/${total}`, bytes.subarray(5 * MiB));
    expect(rest.status).toBe(201);
    expect(rest.body).toMatchObject({ stored: true, sha256: sha(bytes), offset: String(total) });
    expect(await storedOf(id)).not.toBeNull();
    expect(readFileSync(blobFile(sha(bytes))).equals(bytes)).toBe(true);
    expect((await range(`bytes */${total}`)).status).toBe(200);
  });

  it("drops an upload whose bytes do not hash to the reserved sha256: 400, nothing stored, it starts again at 0", async () => {
    const bytes = randomBytes(9 * MiB);
    const { url, id } = await reserveInput("bad.bin", bytes);
    url_ = url;
    const altered = Buffer.from(bytes);
    altered[altered.length - 1] ^= 1;
    expect((await range(`bytes 0-${4 * MiB - 1}/${bytes.length}`, altered.subarray(0, 4 * MiB))).status).toBe(202);
    const last = await range(`bytes ${4 * MiB}-${bytes.length - 1}/${bytes.length}`, altered.subarray(4 * MiB));
    expect(last.status).toBe(400);
    expect(last.body.error.code).toBe("BAD_USER_INPUT");
    expect(await storedOf(id)).toBeNull();
    expect(existsSync(blobFile(sha(bytes)))).toBe(false);
    expect((await range(`bytes */${bytes.length}`)).body.offset).toBe("0");
  });

  it("an upload client SIGKILLed mid-upload: the next one sends only what the server lacks, and the blob is the file", async () => {
    const size = 64 * MiB;
    const bytes = randomBytes(size);
    const file = join(work, "big.ckpt");
    writeFileSync(file, bytes);
    const { url, id } = await reserveInput("big.ckpt", bytes);
    const staged = join(DATA_DIR, "uploads", `input-${id}.${sha(bytes)}.${size}.part`);

    // the first client's bytes go through a front that forwards 20 MiB and then holds the rest back
    const held = await front(new URL(url).port, 20 * MiB);
    const first = uploader(url.replace(`:${new URL(url).port}/`, `:${held.port}/`), file, size);
    await eventually(async () => (existsSync(staged) && statSync(staged).size >= 16 * MiB ? true : undefined), 60_000, "the first 16 MiB staged");
    first.child.kill("SIGKILL");
    await first.exited;
    held.close();
    const kept = await eventually(async () => {
      const answer = await fetch(url, { method: "PUT", headers: { "content-range": `bytes */${size}` } });
      const offset = Number(answer.headers.get("upload-offset"));
      return answer.status === 202 && offset >= 16 * MiB ? offset : undefined;
    }, 30_000, "the broken upload's offset");
    expect(await storedOf(id)).toBeNull();

    const counted = await front(new URL(url).port, Infinity);
    const second = uploader(url.replace(`:${new URL(url).port}/`, `:${counted.port}/`), file, size);
    expect(await second.exited).toBe(0);
    counted.close();
    expect(JSON.parse(second.output()).status).toBe(201);
    expect(JSON.parse(second.output()).resumedFrom).toBe(kept);
    // what went over the wire the second time: the rest of the file and two requests' headers, not the file again
    expect(counted.forwarded()).toBeLessThan(size - kept + 64 * 1024);
    expect(counted.forwarded()).toBeGreaterThanOrEqual(size - kept);
    expect(await storedOf(id)).not.toBeNull();
    expect(createHash("sha256").update(readFileSync(blobFile(sha(bytes)))).digest("hex")).toBe(sha(bytes));
    expect(existsSync(staged)).toBe(false);
  });
});

/** The agent's upload client in a process of its own (api/test/upload-child.ts). */
function uploader(url: string, file: string, size: number) {
  const child = spawn(process.execPath, ["-r", "@swc-node/register", join(ROOT, "api/test/upload-child.ts"), url, file, String(size)], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += String(d)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, exited, output: () => out.trim() };
}

/** A TCP front to the API's port that forwards at most `budget` bytes from the client (then holds the rest), counting them. */
async function front(port: string, budget: number): Promise<{ port: number; forwarded(): number; close(): void }> {
  let forwarded = 0;
  const sockets: Socket[] = [];
  const proxy: Server = createServer((client) => {
    const upstream = createConnection(Number(port), "127.0.0.1");
    sockets.push(client, upstream);
    client.on("data", (chunk: Buffer) => {
      const piece = chunk.subarray(0, Math.max(0, budget - forwarded));
      forwarded += piece.length;
      if (piece.length > 0 && !upstream.write(piece)) client.pause();
      if (piece.length < chunk.length) client.pause();
    });
    upstream.on("drain", () => forwarded < budget && client.resume());
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.once("close", end);
    upstream.once("close", end);
    client.on("error", end);
    upstream.on("error", end);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const address = proxy.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    forwarded: () => forwarded,
    close: () => {
      for (const s of sockets) s.destroy();
      proxy.close();
    },
  };
}
