/**
 * Bytes in and out (`node dist/bench/transfers.js`, part of `npm run bench`): a file of BENCH_TRANSFER_MB (1024) MiB
 * moved four ways, in the same run, with the peak memory of the process doing the work:
 *   - plain: `cp` of the file; a bare node:http server that streams a PUT to disk and a GET from disk (no hashing,
 *     no fsync): the baseline;
 *   - the filesystem adapter alone (`createFilesystemBlobStore`: count + sha256 + fsync + rename on put; read);
 *   - the marketplace (`dist/api/bin/main.js`, the production server): createInputUpload, then an HTTP PUT to the
 *     signed URL it returns, then a signed GET of the same input (what an agent's download does), both streamed.
 * Target: the API's signed-URL path at least 80% of the plain HTTP path, with flat memory. Writes the `transfers`
 * section of BENCHMARKS.md.
 */
import { spawnSync } from "node:child_process";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Wallet } from "ethers";
import { createFilesystemBlobStore } from "../api/storage/filesystem-store";
import { dropDatabase, rssKiB, startMarketplace, waitReady, type Proc } from "./cluster";
import { freePort, must, signIn } from "./client";
import { envInt } from "./env";
import { writeSections } from "./report";

const ROOT = path.resolve(__dirname, "..", "..");
const PG = (process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432").replace(/\/$/, "");
const DB = "gx_bench_transfers";
const MB = envInt("BENCH_TRANSFER_MB", 1024);
const ROUNDS = envInt("BENCH_TRANSFER_ROUNDS", 3);
const output = process.env.BENCH_OUTPUT ?? path.join(ROOT, "BENCHMARKS.md");
const say = (line: string) => process.stderr.write(`${line}\n`);
const MiB = 1024 * 1024;

/** The young generation the production start scripts give the API (package.json, Dockerfile). */
const SEMI_SPACE_FLAG = "--max-semi-space-size=32";

/** A marketplace under test. */
interface Api {
  base: string;
  secret: string;
  dataDir: string;
  market: Proc;
  token: string;
}

interface Run {
  seconds: number;
  /** Resident memory before the transfer and its peak during it. */
  startRssMiB: number;
  peakRssMiB: number;
}

/** The run of median time among several of the same path (runs alternate between paths, so page-cache writeback and other load fall on each alike). */
function median(runs: Run[]): Run {
  return [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)];
}

/** Times `work`, sampling the resident memory of `pid` (this process when undefined) every 50 ms. */
async function measure(work: () => Promise<void>, pid?: number): Promise<Run> {
  // each run starts with no dirty pages of an earlier one still to be written back (it would slow whatever runs next)
  spawnSync("sync");
  let peak = 0;
  const sample = () => {
    const kib = pid === undefined ? process.memoryUsage().rss / 1024 : (rssKiB(pid) ?? 0);
    peak = Math.max(peak, kib);
  };
  sample();
  const startRssMiB = peak / 1024;
  const timer = setInterval(sample, 50);
  const start = process.hrtime.bigint();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  sample();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, startRssMiB, peakRssMiB: peak / 1024 };
}

/** A deterministic file of `mb` MiB and its sha256 (written in 1 MiB blocks). */
async function makeFile(file: string, mb: number): Promise<string> {
  const hash = createHash("sha256");
  const out = createWriteStream(file);
  for (let i = 0; i < mb; i++) {
    const block = createHash("sha256").update(`bench:${i}`).digest();
    const b = Buffer.alloc(MiB);
    for (let o = 0; o < MiB; o += block.length) block.copy(b, o);
    hash.update(b);
    if (!out.write(b)) await new Promise<void>((r) => out.once("drain", () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return hash.digest("hex");
}

/** PUTs a file to a URL, streamed, and returns the status. */
function putFile(url: string, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "PUT", headers: { "content-type": "application/octet-stream", "content-length": String(statSync(file).size) } });
    req.once("error", reject);
    req.once("response", (res) => {
      res.resume();
      res.once("end", () => resolve(res.statusCode ?? 0));
    });
    createReadStream(file).pipe(req);
  });
}

/** GETs a URL, streams the body to a file, and returns the status and byte count. */
function getToFile(url: string, file: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let bytes = 0;
        res.on("data", (c: Buffer) => (bytes += c.length));
        pipeline(res, createWriteStream(file)).then(() => resolve({ status: res.statusCode ?? 0, bytes }), reject);
      })
      .once("error", reject);
  });
}

/** The baseline: a bare node:http server that streams PUT bodies to disk (fsynced before the answer with ?fsync) and GETs from disk. */
async function bareServer(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const file = path.join(dir, "bare.bin");
    if (req.method === "PUT") {
      pipeline(req, createWriteStream(file, { flush: (req.url ?? "").includes("fsync") })).then(
        () => res.writeHead(201).end(),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(200, { "content-length": String(statSync(file).size) });
      createReadStream(file).pipe(res);
    }
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${port}/bare`, close: () => new Promise((r) => server.close(() => r())) };
}

/** The signed GET URL of an input, as the server signs it (transfer-urls.ts), under the server's secret. */
function signedGet(base: string, secret: string, id: string): string {
  const expires = String(Math.floor(Date.now() / 1000) + 900);
  const signature = createHmac("sha256", secret).update(`input:get:${id}:${expires}`).digest("base64url");
  return `${base}/transfers/input/${id}?expires=${expires}&signature=${signature}`;
}

async function main(): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "gx-bench-transfers-"));
  const procs: Proc[] = [];
  try {
    const source = path.join(dir, "source.bin");
    say(`transfers: writing a ${MB} MiB file`);
    const sha256 = await makeFile(source, MB);
    const rate = (r: Run) => MB / r.seconds;

    // two marketplaces, alike but for the young generation's size (see BENCHMARKS.md): the default, and the flag
    // the production start scripts pass; their rounds alternate, so both meet the same load
    const apis: Api[] = [];
    for (const [label, nodeArgs] of [["default", []], ["semi", [SEMI_SPACE_FLAG]]] as const) {
      say(`transfers: the marketplace (${label})`);
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      await dropDatabase(PG, `${DB}_${label}`);
      const secret = randomBytes(32).toString("hex");
      const dataDir = path.join(dir, `market-data-${label}`);
      const market = startMarketplace(port, `${PG}/${DB}_${label}`, { JWT_SECRET: secret, DATA_DIR: dataDir, CHAIN_PORT: String(await freePort()) }, undefined, [...nodeArgs]);
      procs.push(market);
      await waitReady(base, market);
      apis.push({ base, secret, dataDir, market, token: await signIn(`${base}/graphql`, Wallet.createRandom()) });
    }
    const bare = await bareServer(dir);
    const store = createFilesystemBlobStore({ root: path.join(dir, "store") });
    const runs: Record<string, Run[]> = { cp: [], bareUp: [], bareSyncUp: [], adapterUp: [], apiUp: [], semiUp: [], bareDown: [], adapterDown: [], apiDown: [], semiDown: [] };
    for (let round = 0; round < ROUNDS; round++) {
      say(`transfers: round ${round + 1} of ${ROUNDS}`);
      runs.cp.push(
        await measure(async () => {
          const r = spawnSync("cp", [source, path.join(dir, "copy.bin")]);
          if (r.status !== 0) throw new Error(`cp failed: ${r.stderr}`);
        }),
      );
      rmSync(path.join(dir, "copy.bin"));
      runs.bareUp.push(await measure(async () => void (await putFile(bare.url, source))));
      runs.bareSyncUp.push(await measure(async () => void (await putFile(`${bare.url}?fsync`, source))));
      runs.adapterUp.push(await measure(() => store.put({ sha256, sizeBytes: BigInt(MB * MiB) }, createReadStream(source))));
      for (const [i, api] of apis.entries()) {
        // a fresh reservation each round (the store already holding the blob would skip its write)
        rmSync(path.join(api.dataDir, "blobs"), { recursive: true, force: true });
        const created = await must(
          `${api.base}/graphql`,
          "createInputUpload",
          `mutation($input: CreateInputUploadInput!) { createInputUpload(input: $input) { artifact { id } uploadUrl } }`,
          { input: { name: `bench-${round}.bin`, sizeBytes: String(MB * MiB), sha256 } },
          api.token,
        );
        const upload = created.createInputUpload as { artifact: { id: string }; uploadUrl: string };
        let status = 0;
        runs[i === 0 ? "apiUp" : "semiUp"].push(await measure(async () => void (status = await putFile(upload.uploadUrl, source)), api.market.child.pid));
        if (status !== 201) throw new Error(`the upload answered ${status}`);
        let got = { status: 0, bytes: 0 };
        runs[i === 0 ? "apiDown" : "semiDown"].push(
          await measure(async () => void (got = await getToFile(signedGet(api.base, api.secret, upload.artifact.id), path.join(dir, "down.bin"))), api.market.child.pid),
        );
        rmSync(path.join(dir, "down.bin"));
        if (got.status !== 200 || got.bytes !== MB * MiB) throw new Error(`the download answered ${got.status} with ${got.bytes} bytes`);
      }
      runs.bareDown.push(await measure(async () => void (await getToFile(bare.url, path.join(dir, "down.bin")))));
      rmSync(path.join(dir, "down.bin"));
      runs.adapterDown.push(await measure(async () => pipeline(await store.read(sha256), createWriteStream(path.join(dir, "down.bin")))));
      rmSync(path.join(dir, "down.bin"));
      await store.delete(sha256);
    }
    await bare.close();
    for (const api of apis) await api.market.stop();
    const [cp, bareUp, bareSyncUp, adapterUp, apiUp, semiUp, bareDown, adapterDown, apiDown, semiDown] = [
      "cp", "bareUp", "bareSyncUp", "adapterUp", "apiUp", "semiUp", "bareDown", "adapterDown", "apiDown", "semiDown",
    ].map((k) => median(runs[k]));

    const row = (name: string, r: Run, baseline?: Run) =>
      `| ${name} | ${r.seconds.toFixed(2)} | ${rate(r).toFixed(0)} | ${baseline ? `${((rate(r) / rate(baseline)) * 100).toFixed(0)}%` : ""} | ${r.startRssMiB.toFixed(0)} -> ${r.peakRssMiB.toFixed(0)} |`;
    const body = [
      "## Transfers: a file through the blob store and the API's signed URLs, beside cp and a bare node:http stream",
      "",
      `Run on ${new Date().toISOString()} by \`npm run bench\` (bench/transfers.ts) on this machine (Node ${process.version}): a ${MB} MiB file, ${os.cpus().length} cores, the same disk. Peak RSS is the process doing the work: the bench itself for cp, bare and adapter rows, the marketplace process for the API rows. Each path ran ${ROUNDS} times, alternating with the others, each after a \`sync\` (no dirty pages of another run pending); the median run is shown. The store acknowledges an upload only once it is fsynced; the bare baseline does not (the row with fsync shows what durability costs on this disk).`,
      "",
      "| path | seconds | MiB/s | of plain HTTP | RSS MiB before -> peak |",
      "|---|---:|---:|---:|---:|",
      row("cp (plain copy)", cp),
      row("bare node:http PUT to disk (baseline)", bareUp, bareUp),
      row("bare node:http PUT to disk, fsynced before the answer", bareSyncUp, bareUp),
      row("filesystem adapter put (count, sha256, fsync, rename)", adapterUp, bareUp),
      row("API: PUT to the signed upload URL (streamed into the store), node's default young generation", apiUp, bareUp),
      row(`API: the same, the marketplace started with \`${SEMI_SPACE_FLAG}\` (as \`npm start\` and the image do)`, semiUp, bareUp),
      row("bare node:http GET from disk (baseline)", bareDown, bareDown),
      row("filesystem adapter read", adapterDown, bareDown),
      row("API: signed GET (streamed, sha256 checked as it goes), node's default young generation", apiDown, bareDown),
      row(`API: the same, started with \`${SEMI_SPACE_FLAG}\``, semiDown, bareDown),
      "",
      `Target: the API's signed-URL path at least 80% of the plain HTTP path, with memory that does not grow with the file. Upload with \`${SEMI_SPACE_FLAG}\`: ${((rate(semiUp) / rate(bareUp)) * 100).toFixed(0)}% of the bare PUT (${((rate(semiUp) / rate(bareSyncUp)) * 100).toFixed(0)}% of the bare PUT with fsync; ${((rate(apiUp) / rate(bareUp)) * 100).toFixed(0)}% without the flag), download: ${((rate(semiDown) / rate(bareDown)) * 100).toFixed(0)}% (${((rate(apiDown) / rate(bareDown)) * 100).toFixed(0)}% without).`,
    ].join("\n");
    say(body);
    if (output !== "-") writeSections(output, [["transfers", body]]);
    return 0;
  } finally {
    for (const p of procs) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    say(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
