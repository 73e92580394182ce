import { apiKeyAuth, createNodeClient, downloadOutputs, followJob, SubmitJobWithInputsDocument, uploadFile, type JobRequirementsInput } from "@gpu-exchange/sdk/node";

/**
 * In Node: uploads an input file, submits a job that reads it, follows its progress and logs to the end, and
 * downloads its outputs into `outDir`, each checked against the result hash the providers agreed on.
 */
export async function runJob(url: string, apiKey: string, file: string, command: string[], requirements: JobRequirementsInput, outDir: string, log: (line: string) => void) {
  const client = createNodeClient({ url, auth: apiKeyAuth(apiKey) });
  try {
    const input = await uploadFile(client, file, { onProgress: (p) => log(`uploaded ${p.bytes} of ${p.totalBytes} bytes`) });
    const { submitJob } = await client.request(SubmitJobWithInputsDocument, {
      input: { kind: "BATCH", command, inputs: [{ artifactId: input.artifactId, path: input.name }], requirements },
    });
    const job = await followJob(client, submitJob.id, {
      onProgress: (p) => log(`${p.status} ${Math.round(p.progress * 100)}%`),
      onLog: (line) => log(`${line.stream.toLowerCase()}: ${line.line}`),
    });
    if (job.status !== "COMPLETED") throw new Error(`job ${job.id} ended ${job.status}`);
    return { jobId: job.id, files: await downloadOutputs(job, outDir) };
  } finally {
    await client.close();
  }
}
