import { createHash } from "node:crypto";

/** agent/examples/checkpoint-counter.js's result, computed independently of it: the hash chain after `steps` steps, hashed as a file. */
export function checkpointCounterHash(steps: number): string {
  const sha = (t: string) => createHash("sha256").update(t).digest("hex");
  let state = sha("gpu-exchange");
  for (let i = 0; i < steps; i++) state = sha(`${state}:${i}`);
  return sha(state);
}
