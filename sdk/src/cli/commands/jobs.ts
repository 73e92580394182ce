import { CancelJobDocument, JobDocument, JobOutputsDocument, MyJobsDocument, type JobStatus } from "../../generated/graphql";
import type { Context } from "../context";

/** `gx jobs`: your jobs, newest first. */
export async function jobs(ctx: Context, flags: { status?: string; first?: number; after?: string }): Promise<void> {
  const client = await ctx.client();
  const { myJobs } = await client.request(MyJobsDocument, { status: flags.status as JobStatus | undefined, first: flags.first ?? 20, after: flags.after });
  if (ctx.json) return void ctx.io.out(`${JSON.stringify(myJobs)}\n`);
  const rows = myJobs.edges.map(({ node: j }) => `${j.id}  ${j.status.padEnd(10)} ${j.kind.padEnd(16)} ${String(Math.round(j.progress * 100)).padStart(3)}%  ${j.createdAt}`);
  ctx.io.out(rows.length ? `${rows.join("\n")}\n` : "no jobs\n");
  if (myJobs.pageInfo.hasNextPage) ctx.io.err(`more: gx jobs --after ${myJobs.pageInfo.endCursor}\n`);
}

/** `gx job ID`: a job's state, what keeps it from matching, its result and outputs. */
export async function job(ctx: Context, id: string): Promise<void> {
  const client = await ctx.client();
  const [{ job: j }, { job: o }] = await Promise.all([client.request(JobDocument, { id }), client.request(JobOutputsDocument, { id })]);
  if (ctx.json) return void ctx.io.out(`${JSON.stringify({ ...j, outputs: o.outputs, result: { ...j.result, ...o.result } })}\n`);
  const lines = [`${j.id}  ${j.status}  ${Math.round(j.progress * 100)}%${j.statusMessage ? `  ${j.statusMessage}` : ""}`];
  for (const e of j.excluded ?? []) lines.push(`passed over: ${e.reason} (${e.offers}): ${e.message}`);
  if (j.cost) lines.push(`cost: ${j.cost} OGPU`);
  for (const a of j.assignments) lines.push(`assignment ${a.id}: ${a.status} on ${a.node.id} (${a.node.region}) at ${a.pricePerGpuHour}, attempt ${a.attempt}`);
  if (o.result) lines.push(`result: ${o.result.hash} (agreed by ${o.result.agreedBy})`);
  for (const out of o.outputs) lines.push(`output ${out.name}: ${out.sizeBytes} bytes, sha256 ${out.sha256}`);
  ctx.io.out(`${lines.join("\n")}\n`);
}

/** `gx cancel ID`: cancels a PENDING or MATCHED job of yours (its hold is released). */
export async function cancel(ctx: Context, id: string): Promise<void> {
  const client = await ctx.client();
  const { cancelJob } = await client.request(CancelJobDocument, { id });
  if (ctx.json) return void ctx.io.out(`${JSON.stringify(cancelJob)}\n`);
  ctx.io.out(`${cancelJob.id} ${cancelJob.status}\n`);
}
