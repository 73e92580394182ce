#!/usr/bin/env node
// A workload of the data plane (see agent/README.md): reads its input files, writes outputs, logs as it goes.
//   - every file under GX_INPUT_DIR is hashed; `outputs/inputs.txt` lists `<sha256> <path>` of each, sorted;
//   - `outputs/data/big.bin` is OUTPUT_MB MiB of deterministic bytes (block i = sha256("gx:" + i) repeated), written
//     as a stream (the workload holds one 1 MiB block at a time);
//   - LOG_LINES lines `log <i>` go to stdout, one every LOG_MS ms, and every tenth a line to stderr;
//   - GX_RESULT_FILE (the output named `result`) holds `ok <OUTPUT_MB>`.
// With ALTER_WHEN set, a run whose GX_OUTPUT_DIR path contains that text writes one other byte in big.bin: a dishonest
// provider, for tests of redundancy.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const OUTPUT_MB = Number(process.env.OUTPUT_MB ?? "1");
const LOG_LINES = Number(process.env.LOG_LINES ?? "10");
const LOG_MS = Number(process.env.LOG_MS ?? "100");
const inputDir = process.env.GX_INPUT_DIR;
const outputDir = process.env.GX_OUTPUT_DIR;
const resultFile = process.env.GX_RESULT_FILE;
const alter = process.env.ALTER_WHEN && outputDir.includes(process.env.ALTER_WHEN);

const sha256 = (data) => crypto.createHash("sha256").update(data).digest("hex");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function filesUnder(dir, prefix = "") {
  if (!dir || !fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

/** Block i of big.bin: sha256("gx:" + i) (32 bytes) repeated to 1 MiB. */
function block(i) {
  const seed = crypto.createHash("sha256").update(`gx:${i}`).digest();
  const out = Buffer.alloc(1024 * 1024);
  for (let o = 0; o < out.length; o += seed.length) seed.copy(out, o);
  return out;
}

async function writeBig(file) {
  const out = fs.createWriteStream(file);
  for (let i = 0; i < OUTPUT_MB; i++) {
    const b = block(i);
    if (alter && i === 0) b[0] ^= 0xff;
    if (!out.write(b)) await new Promise((resolve) => out.once("drain", resolve));
  }
  await new Promise((resolve, reject) => out.end((err) => (err ? reject(err) : resolve())));
}

async function main() {
  const listing = filesUnder(inputDir)
    .sort()
    .map((p) => `${sha256(fs.readFileSync(path.join(inputDir, p)))} ${p}\n`)
    .join("");
  fs.writeFileSync(path.join(outputDir, "inputs.txt"), listing);
  fs.mkdirSync(path.join(outputDir, "data"), { recursive: true });
  const writing = writeBig(path.join(outputDir, "data", "big.bin"));
  for (let i = 0; i < LOG_LINES; i++) {
    process.stdout.write(`log ${i}\n`);
    if (i % 10 === 0) process.stderr.write(`stderr ${i}\n`);
    process.stdout.write(`progress ${((i + 1) / LOG_LINES).toFixed(3)}\n`);
    await sleep(LOG_MS);
  }
  await writing;
  fs.writeFileSync(resultFile, `ok ${OUTPUT_MB}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
