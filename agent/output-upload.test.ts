import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ApiError } from "./client";
import { FakeApi } from "./fake-api";
import type { ManifestEntry } from "./manifest";
import { ManualClock, settle } from "./manual-clock";
import { type OutputUploadContext, type OutputUploadOutcome, uploadOutputs } from "./output-upload";
import { collectOutputs } from "./outputs";
import { captureLogger } from "./test-logger";
import type { PutAnswer, Transfer } from "./transfer";

const sha = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");
const API = "http://api.test:4000/graphql";

describe("uploadOutputs", () => {
  let dir: string;
  let api: FakeApi;
  let clock: ManualClock;
  let lost: AbortController;
  let entries: ManifestEntry[];

  beforeEach(async () => {
    dir = await realpath(await mkdtemp(path.join(os.tmpdir(), "gx-outputs-")));
    await mkdir(path.join(dir, "sub"));
    await writeFile(path.join(dir, "result"), "42\n");
    await writeFile(path.join(dir, "sub", "a.txt"), "alpha");
    entries = await collectOutputs(dir);
    api = new FakeApi();
    clock = new ManualClock();
    lost = new AbortController();
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  function ctx(overrides: Partial<OutputUploadContext> = {}): OutputUploadContext {
    return { client: api, transfer: api, logger: captureLogger("silent").logger, apiUrl: API, assignmentId: "a1", outputDir: dir, lost: lost.signal, clock, random: () => 0, ...overrides };
  }

  /** Runs the uploads, moving the clock on whenever they wait; returns the outcome and the waits. */
  async function drive(run: Promise<OutputUploadOutcome>): Promise<{ outcome: OutputUploadOutcome; waits: number[] }> {
    let outcome: OutputUploadOutcome | undefined;
    void run.then((o) => (outcome = o));
    const waits: number[] = [];
    for (let i = 0; i < 1000 && outcome === undefined; i++) {
      const waited = await clock.runNext();
      if (waited !== undefined) waits.push(waited);
      else await settle();
    }
    if (outcome === undefined) throw new Error("the uploads did not end");
    return { outcome, waits };
  }

  it("reserves and PUTs each output with its name, sha256 and size", async () => {
    const { outcome, waits } = await drive(uploadOutputs(entries, ctx()));
    expect(outcome).toEqual({ kind: "stored" });
    expect(waits).toEqual([]);
    expect(api.callsOf("CreateOutputUpload").sort((x, y) => String(x.name).localeCompare(String(y.name)))).toEqual([
      { id: "a1", name: "result", sha256: sha("42\n"), sizeBytes: "3" },
      { id: "a1", name: "sub/a.txt", sha256: sha("alpha"), sizeBytes: "5" },
    ]);
    expect(api.storedOutput("a1", "result")?.toString()).toBe("42\n");
    expect(api.storedOutput("a1", "sub/a.txt")?.toString()).toBe("alpha");
    expect(api.puts.every((p) => p.url.startsWith("http://api.test:4000/outputs/a1/"))).toBe(true);
  });

  it("retries a 503 and a network error with backoff, then stores", async () => {
    api.putAnswers.push({ status: 503, message: "the store is unavailable" }, new Error("socket hang up"));
    const { outcome, waits } = await drive(uploadOutputs(entries.slice(0, 1), ctx()));
    expect(outcome).toEqual({ kind: "stored" });
    expect(waits).toEqual([1000, 2000]);
    expect(api.putAttempts.map((a) => a.status)).toEqual([503, 0, 201]);
    expect(api.callsOf("CreateOutputUpload")).toHaveLength(3);
  });

  it("fails (not lost) when one output runs out of tries while another is still waiting to retry", async () => {
    for (let i = 0; i < 6; i++) api.putAnswers.push({ status: 503, message: "down" });
    const { outcome } = await drive(uploadOutputs(entries, ctx({ policy: { tries: 3 } })));
    expect(outcome).toEqual({ kind: "failed", reason: expect.stringMatching(/^the store is unavailable: could not upload output (result|sub\/a\.txt) after 3 tries: 503 down$/) });
  });

  it("gives up after 8 tries over about two minutes: the store is unavailable", async () => {
    for (let i = 0; i < 8; i++) api.putAnswers.push({ status: 503, message: "slow down" });
    const { outcome, waits } = await drive(uploadOutputs(entries.slice(0, 1), ctx()));
    expect(outcome).toEqual({ kind: "failed", reason: "the store is unavailable: could not upload output result after 8 tries: 503 slow down" });
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 40000]);
    expect(waits.reduce((a, b) => a + b)).toBe(103_000);
    expect(api.putAttempts).toHaveLength(8);
  });

  it("retries a reservation answered UNAVAILABLE", async () => {
    let refusals = 1;
    api.overrides.set("CreateOutputUpload", (vars) => {
      api.overrides.delete("CreateOutputUpload");
      if (refusals-- > 0) throw new ApiError("UNAVAILABLE", "CreateOutputUpload: the blob store is unavailable");
      return { createOutputUpload: { uploadUrl: `/outputs/a1/${String(vars.name)}?sig=z`, output: { stored: false } } };
    });
    const { outcome, waits } = await drive(uploadOutputs(entries.slice(0, 1), ctx()));
    expect(outcome).toEqual({ kind: "stored" });
    expect(waits).toEqual([1000]);
  });

  it.each([
    [400, "sha256 mismatch"],
    [409, "reserved with other bytes"],
    [413, "too large"],
  ])("fails at once on %i with the answer's message", async (status, message) => {
    api.putAnswers.push({ status, message });
    const { outcome, waits } = await drive(uploadOutputs(entries.slice(0, 1), ctx()));
    expect(outcome).toEqual({ kind: "failed", reason: `could not upload output result: ${status} ${message}` });
    expect(waits).toEqual([]);
  });

  it("reserves again for a fresh URL after a 403", async () => {
    api.putAnswers.push({ status: 403, message: "Request has expired" });
    const { outcome, waits } = await drive(uploadOutputs(entries.slice(0, 1), ctx()));
    expect(outcome).toEqual({ kind: "stored" });
    expect(waits).toEqual([]);
    expect(api.putAttempts.map((a) => a.status)).toEqual([403, 201]);
    expect(api.putAttempts[0].url).not.toBe(api.putAttempts[1].url);
  });

  it("skips the PUT of an output the store already has", async () => {
    api.overrides.set("CreateOutputUpload", () => ({ createOutputUpload: { uploadUrl: "/x", output: { stored: true } } }));
    const { outcome } = await drive(uploadOutputs(entries.slice(0, 1), ctx()));
    expect(outcome).toEqual({ kind: "stored" });
    expect(api.putAttempts).toEqual([]);
  });

  it("ends as lost on a CONFLICT reservation or when the assignment is lost while waiting", async () => {
    api.overrides.set("CreateOutputUpload", () => {
      throw new ApiError("CONFLICT", "assignment is EXPIRED");
    });
    expect((await drive(uploadOutputs(entries, ctx()))).outcome.kind).toBe("lost");

    api.overrides.delete("CreateOutputUpload");
    api.putAnswers.push({ status: 503, message: "" });
    const run = uploadOutputs(entries.slice(0, 1), ctx());
    // until the failed PUT's retry waits on the clock (file reads go through the thread pool: slow on a busy machine)
    for (const giveUpAt = Date.now() + 20_000; clock.pending === 0 && Date.now() < giveUpAt; ) await settle();
    expect(clock.pending).toBe(1);
    lost.abort();
    await expect(run).resolves.toMatchObject({ kind: "lost" });
  });

  it("uploads at most 2 files at a time, and stops the others after a failure", async () => {
    for (let i = 0; i < 6; i++) await writeFile(path.join(dir, `f${i}`), `file ${i}`);
    const many = await collectOutputs(dir);
    let inFlight = 0;
    let maxInFlight = 0;
    const slow: Transfer = {
      download: api.download.bind(api),
      upload: api.upload.bind(api),
      async put(url, file, size): Promise<PutAnswer> {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await settle(2);
        inFlight -= 1;
        return url.includes("/f3?") ? { status: 409, message: "other bytes" } : api.put(url, file, size);
      },
    };
    const { outcome } = await drive(uploadOutputs(many, ctx({ transfer: slow })));
    expect(outcome).toEqual({ kind: "failed", reason: "could not upload output f3: 409 other bytes" });
    expect(maxInFlight).toBe(2);
    expect(api.puts.length).toBeLessThan(many.length - 1);
  });

  it("refuses an output swapped for a symlink after it was hashed", async () => {
    await rm(path.join(dir, "result"));
    const secret = path.join(os.tmpdir(), `gx-secret-${process.pid}`);
    await writeFile(secret, "42\n");
    await symlink(secret, path.join(dir, "result"));
    try {
      const { outcome } = await drive(uploadOutputs(entries.filter((e) => e.name === "result"), ctx()));
      expect(outcome).toEqual({ kind: "failed", reason: "output result is not a regular file" });
      expect(api.puts).toEqual([]);
      expect(await readFile(secret, "utf8")).toBe("42\n");
    } finally {
      await rm(secret, { force: true });
    }
  });
});
