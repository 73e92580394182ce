#!/usr/bin/env node
// A deterministic workload that speaks the gpu-exchange agent protocol (see agent/README.md).
//   state_0 = sha256("gpu-exchange"), state_{i+1} = sha256(state_i + ":" + i) in hex; the result is state_STEPS.
// Env: STEPS (20), STEP_MS (200), CHECKPOINT_EVERY (1), and the protocol's GX_* variables; PAD_STEP and PAD_MB make
// the checkpoint of step PAD_STEP PAD_MB MiB larger (spaces after the JSON: a big checkpoint, for transfer tests).
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

function whole(name, fallback, min) {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min) {
    process.stderr.write(`${name} must be a whole number >= ${min}, got "${text}"\n`);
    process.exit(2);
  }
  return Number(text);
}

const STEPS = whole("STEPS", 20, 0);
const STEP_MS = whole("STEP_MS", 200, 0);
const CHECKPOINT_EVERY = whole("CHECKPOINT_EVERY", 1, 1);
const PAD_STEP = whole("PAD_STEP", -1, 0);
const PAD_MB = whole("PAD_MB", 0, 0);
const checkpointDir = process.env.GX_CHECKPOINT_DIR;
const resultFile = process.env.GX_RESULT_FILE;
const resumeFile = process.env.GX_RESUME_FILE;

const sha256 = (text) => crypto.createHash("sha256").update(text).digest("hex");
const say = (line) => fs.writeSync(1, `${line}\n`);

let step = 0;
let state = sha256("gpu-exchange");
if (resumeFile) {
  const saved = JSON.parse(fs.readFileSync(resumeFile, "utf8"));
  if (!Number.isInteger(saved.step) || saved.step < 0 || saved.step > STEPS || !/^[0-9a-f]{64}$/.test(saved.state)) {
    process.stderr.write(`${resumeFile} is not a checkpoint of this workload\n`);
    process.exit(3);
  }
  step = saved.step;
  state = saved.state;
  say(`resumed at step ${step}`);
}

function checkpoint() {
  if (!checkpointDir) return;
  const name = `step-${step}.json`;
  const temp = path.join(checkpointDir, `.${name}.tmp`);
  fs.writeFileSync(temp, JSON.stringify({ step, state }));
  if (step === PAD_STEP) {
    const spaces = Buffer.alloc(1024 * 1024, 0x20);
    const fd = fs.openSync(temp, "a");
    for (let i = 0; i < PAD_MB; i++) fs.writeSync(fd, spaces);
    fs.closeSync(fd);
  }
  fs.renameSync(temp, path.join(checkpointDir, name));
  say(`checkpoint ${step} ${name}`);
}

process.on("SIGTERM", () => {
  checkpoint();
  process.exit(143);
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  while (step < STEPS) {
    await sleep(STEP_MS);
    state = sha256(`${state}:${step}`);
    step += 1;
    say(`progress ${step / STEPS} step ${step}`);
    if (step % CHECKPOINT_EVERY === 0) checkpoint();
  }
  if (resultFile) fs.writeFileSync(resultFile, state);
  else say(`result ${state}`);
  process.exit(0);
}

main();
