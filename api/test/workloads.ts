import { createHash } from "node:crypto";

/** agent/examples/checkpoint-counter.js's result, computed independently of it: the hash chain after `steps` steps, hashed as a file. */
export function checkpointCounterHash(steps: number): string {
  const sha = (t: string) => createHash("sha256").update(t).digest("hex");
  let state = sha("gpu-exchange");
  for (let i = 0; i < steps; i++) state = sha(`${state}:${i}`);
  // the result file holds the state in hex (64 bytes); the result hash is that of the outputs' manifest
  return sha(`${sha(state)} 64 result\n`);
}
