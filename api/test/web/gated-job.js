#!/usr/bin/env node
// The browser test's workload: half done (a log line, its inputs' contents, a checkpoint, progress 0.5), then it waits
// for the file named by its argument (the test writes it once it has seen the half-way progress bar), then writes its
// outputs and ends.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const gate = process.argv[2];
console.log("hello from the web test");
const inputs = process.env.GX_INPUT_DIR;
for (const name of inputs && fs.existsSync(inputs) ? fs.readdirSync(inputs).sort() : []) console.log(`input ${name}: ${fs.readFileSync(path.join(inputs, name), "utf8").trim()}`);
const checkpoints = process.env.GX_CHECKPOINT_DIR;
if (checkpoints) {
  fs.writeFileSync(path.join(checkpoints, "step-1.tmp"), "half way\n");
  fs.renameSync(path.join(checkpoints, "step-1.tmp"), path.join(checkpoints, "step-1.bin"));
  console.log("checkpoint 1 step-1.bin");
}
console.log("progress 0.5 half way");
const wait = () => (fs.existsSync(gate) ? finish() : setTimeout(wait, 50));
function finish() {
  console.error("a line on stderr");
  fs.writeFileSync(path.join(process.env.GX_OUTPUT_DIR, "report.txt"), "web e2e report\n");
  fs.writeFileSync(process.env.GX_RESULT_FILE, "ok\n");
  console.log("progress 1 done");
  console.log("finished");
}
wait();
