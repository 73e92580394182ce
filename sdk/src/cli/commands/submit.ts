import { basename } from "node:path";
import { JobDocument, SubmitJobWithInputsDocument, type EnvVarInput, type JobKind, type SubmitJobInput, type TimeInForce } from "../../generated/graphql";
import { signedJobInput } from "../../order";
import { unitsToDecimal } from "../../decimal";
import { followJob } from "../../job";
import { downloadOutputs, uploadFile } from "../../node";
import type { Context } from "../context";
import { CliError, EXIT } from "../exit-codes";
import { requirementsOf, type RequirementFlags } from "../options";
import { bar, formatBytes, quarter, StatusLine, transferLine } from "../progress";

/** Flags of `gx submit` (besides the requirements). */
export interface SubmitFlags extends RequirementFlags {
  kind: string;
  image?: string;
  source?: string;
  env?: string[];
  secretEnv?: string[];
  input?: string[];
  idempotencyKey?: string;
  clientOrderId?: string;
  timeInForce?: string;
  checkpointInterval?: number;
  /** Sign the job's order with the logged-in wallet's key file (prepareJobOrder, then submitJob with the signature). */
  sign?: boolean;
  follow: boolean;
  download: boolean;
  logs: boolean;
  out?: string;
}

/** `NAME=VALUE` as an env var. */
function envVar(spec: string, secret: boolean): EnvVarInput {
  const at = spec.indexOf("=");
  if (at <= 0) throw new CliError(EXIT.BAD_INPUT, `--${secret ? "secret-env" : "env"} ${spec}: write NAME=VALUE`);
  return { name: spec.slice(0, at), value: spec.slice(at + 1), ...(secret ? { secret: true } : {}) };
}

/** `LOCAL[:PATH]`: a local file and where the job finds it under GX_INPUT_DIR (its base name by default). */
function inputSpec(spec: string): { file: string; path: string } {
  const at = spec.lastIndexOf(":");
  // a colon in the first two characters is a Windows drive letter, not a separator
  if (at > 1) return { file: spec.slice(0, at), path: spec.slice(at + 1) };
  return { file: spec, path: basename(spec) };
}

/**
 * `gx submit [flags] -- COMMAND...`: uploads the input files (with a progress bar), submits the job, follows its
 * progress and logs (logs on stdout, the rest on stderr) to its end, and downloads its outputs (checked against the
 * result hash) into --out. Exit 0 when it completed and its outputs are down, 6 when it ended otherwise.
 */
export async function submit(ctx: Context, command: string[], flags: SubmitFlags): Promise<void> {
  const client = await ctx.client();
  const status = new StatusLine(ctx.io);
  const inputs = [];
  for (const spec of flags.input ?? []) {
    const { file, path } = inputSpec(spec);
    const label = `upload ${basename(file)}`;
    const uploaded = await uploadFile(client, file, { onProgress: (p) => status.update(transferLine(label, p.bytes, p.totalBytes), quarter(p.bytes, p.totalBytes)) });
    status.done(`uploaded ${file} (${formatBytes(Number(uploaded.sizeBytes))}, sha256 ${uploaded.sha256}) as ${path}`);
    inputs.push({ artifactId: uploaded.artifactId, path });
  }
  const env = [...(flags.env ?? []).map((e) => envVar(e, false)), ...(flags.secretEnv ?? []).map((e) => envVar(e, true))];
  const input: SubmitJobInput = {
      kind: flags.kind.toUpperCase() as JobKind,
      image: flags.image,
      sourceId: flags.source,
      command: command.length ? command : undefined,
      env: env.length ? env : undefined,
      inputs: inputs.length ? inputs : undefined,
      requirements: requirementsOf(flags),
      idempotencyKey: flags.idempotencyKey,
      clientOrderId: flags.clientOrderId,
      timeInForce: flags.timeInForce?.toUpperCase() as TimeInForce | undefined,
      checkpointIntervalSeconds: flags.checkpointInterval,
  };
  let signed = input;
  if (flags.sign) {
    const { input: withOrder, draft, maxCostWei } = await signedJobInput(client, input, await ctx.typedDataSigner());
    status.done(`order ${draft.digest} signed: at most ${unitsToDecimal(maxCostWei)} OGPU for job ${draft.jobId} (nonce ${draft.nonce})`);
    signed = withOrder;
  }
  const { submitJob } = await client.request(SubmitJobWithInputsDocument, { input: signed });
  const jobId = submitJob.id;
  if (!flags.follow) {
    ctx.io.out(ctx.json ? `${JSON.stringify(submitJob)}\n` : `${jobId}\n`);
    return;
  }
  ctx.io.err(`job ${jobId} submitted (${submitJob.status}); following it (interrupting stops following, not the job)\n`);

  const following = followJob(client, jobId, {
    logs: flags.logs,
    onProgress: (p) => status.update(`job ${bar(p.progress)} ${String(Math.round(p.progress * 100)).padStart(3)}% ${p.status}${p.message ? `  ${p.message}` : ""}`, `${p.status}:${Math.floor(p.progress * 4)}`),
    onLog: (line) => status.above(line.line, ctx.json ? "err" : "out"),
  });
  const outputs = await following.catch((err: unknown) => {
    status.done(`stopped following job ${jobId}; it goes on on the server: gx job ${jobId}`);
    throw err;
  });
  if (outputs.status !== "COMPLETED") {
    const { job } = await client.request(JobDocument, { id: jobId });
    status.done(`job ${jobId} ended ${job.status}${job.statusMessage ? `: ${job.statusMessage}` : ""}`);
    if (ctx.json) ctx.io.out(`${JSON.stringify({ id: jobId, status: job.status, statusMessage: job.statusMessage })}\n`);
    throw new CliError(EXIT.JOB_NOT_COMPLETED, `job ${jobId} ended ${job.status}`);
  }
  status.done(`job ${jobId} COMPLETED, result ${outputs.result?.hash ?? "-"} (agreed by ${outputs.result?.agreedBy ?? 0})`);
  if (!flags.download) {
    if (ctx.json) ctx.io.out(`${JSON.stringify(outputs)}\n`);
    return;
  }
  const dir = flags.out ?? `gx-${jobId}`;
  const files = await downloadOutputs(outputs, dir, {
    onProgress: (p) => status.update(transferLine(`download ${p.name}`, p.bytes, p.totalBytes), `${p.name}:${quarter(p.bytes, p.totalBytes)}`),
  });
  for (const f of files) status.done(`downloaded ${f.name} (${formatBytes(f.sizeBytes)}, sha256 ${f.sha256}) to ${f.path}`);
  if (ctx.json) ctx.io.out(`${JSON.stringify({ id: jobId, status: outputs.status, result: outputs.result, files })}\n`);
  else ctx.io.err(`${files.length} output${files.length === 1 ? "" : "s"} of job ${jobId} in ${dir}\n`);
}
