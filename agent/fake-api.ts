import { readFile, writeFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { ApiError, type GraphqlClient, type Variables } from "./client";
import type { FileDigest, PutAnswer, Transfer } from "./transfer";

/** An AssignmentInputs entry. */
export interface FakeInput {
  path: string;
  sizeBytes: string;
  sha256: string;
  downloadUrl: string;
}

/** A PendingAssignments entry for tests. */
export function assignmentOf(id: string, job: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    attempt: 1,
    leaseExpiresAt: null,
    resumeFrom: null,
    ...extra,
    job: {
      id: `job-${id}`,
      kind: "BATCH",
      image: null,
      command: [],
      env: [],
      inputUri: null,
      maxDurationSeconds: 3600,
      checkpointIntervalSeconds: null,
      requirements: { gpuCount: 1, minVramGb: 1 },
      ...job,
    },
  };
}

/** An in-memory stand-in for the API and checkpoint storage, recording every call. */
export class FakeApi implements GraphqlClient, Transfer {
  readonly calls: { op: string; vars: Variables }[] = [];
  readonly pending = new Map<string, Record<string, unknown>>();
  readonly uploaded: { url: string; bytes: Buffer }[] = [];
  readonly downloads = new Map<string, Buffer>();
  /** AssignmentInputs' answer by assignment id. */
  readonly inputs = new Map<string, FakeInput[]>();
  /** Output PUTs that were stored (2xx), in the order they ended. */
  readonly puts: { url: string; bytes: Buffer }[] = [];
  /** Every output PUT tried, with its answer. */
  readonly putAttempts: { url: string; status: number }[] = [];
  /** Answers for the next output PUTs, taken in order (a thrown error is a network error); then they store. */
  readonly putAnswers: (PutAnswer | Error)[] = [];
  /** Lines AppendLogs received, in order. */
  readonly logLines: { id: string; stream: string; line: string; at: string }[] = [];
  /** What AppendLogs answers as `full`. */
  logsFull = false;
  private reservations = 0;
  /** Answers by operation name; thrown ApiErrors are passed on. */
  readonly overrides = new Map<string, (vars: Variables) => unknown>();
  private subscriber: ((data: unknown) => void) | null = null;
  activeRuns = 0;
  maxActiveRuns = 0;

  async request<T>(op: string, vars: Variables = {}): Promise<T> {
    this.calls.push({ op, vars });
    const override = this.overrides.get(op);
    if (override) return override(vars) as T;
    switch (op) {
      case "PendingAssignments":
        return { assignments: [...this.pending.values()] } as T;
      case "StartAssignment": {
        if (!this.pending.delete(String(vars.id))) throw new ApiError("CONFLICT", "not ASSIGNED");
        this.activeRuns += 1;
        this.maxActiveRuns = Math.max(this.maxActiveRuns, this.activeRuns);
        return { startAssignment: { id: vars.id, status: "RUNNING", leaseExpiresAt: null } } as T;
      }
      case "ReportProgress":
        return { reportProgress: { id: vars.id, leaseExpiresAt: null } } as T;
      case "ReserveCheckpoint":
        return { createCheckpointUpload: { uploadUrl: `/checkpoints/${String(vars.id)}-${String(vars.step)}?sig=x`, checkpoint: { step: vars.step, sha256: vars.sha256 } } } as T;
      case "AssignmentInputs":
        return { assignmentInputs: this.inputs.get(String(vars.id)) ?? [] } as T;
      case "CreateOutputUpload": {
        this.reservations += 1;
        const name = String(vars.name);
        const uploadUrl = `/outputs/${String(vars.id)}/${name.split("/").map(encodeURIComponent).join("/")}?sig=${this.reservations}`;
        const stored = this.storedOutput(String(vars.id), name) !== undefined;
        return { createOutputUpload: { uploadUrl, output: { name, sizeBytes: vars.sizeBytes, sha256: vars.sha256, stored } } } as T;
      }
      case "AppendLogs": {
        const lines = vars.lines as { stream: string; line: string; at: string }[];
        for (const l of lines) this.logLines.push({ id: String(vars.id), ...l });
        return { appendLogs: { accepted: lines.length, dropped: 0, full: this.logsFull } } as T;
      }
      case "CompleteAssignment":
        this.activeRuns -= 1;
        return { completeAssignment: { id: vars.id, status: "COMPLETED", job: { id: "j", status: "COMPLETED" } } } as T;
      case "FailAssignment":
        this.activeRuns = Math.max(0, this.activeRuns - 1);
        return { failAssignment: { id: vars.id, status: "FAILED" } } as T;
      default:
        throw new ApiError("BAD_REQUEST", `fake has no ${op}`);
    }
  }

  subscribe<T>(_op: string, _vars: Variables, onData: (data: T) => void): () => void {
    this.subscriber = onData as (data: unknown) => void;
    return () => (this.subscriber = null);
  }

  async close(): Promise<void> {}

  /** Adds an assignment and announces it over the subscription. */
  offer(assignment: Record<string, unknown>): void {
    this.pending.set(String(assignment.id), assignment);
    this.subscriber?.({ assignmentOffered: { id: assignment.id, job: { id: (assignment.job as { id: string }).id } } });
  }

  get subscribed(): boolean {
    return this.subscriber !== null;
  }

  callsOf(op: string): Variables[] {
    return this.calls.filter((c) => c.op === op).map((c) => c.vars);
  }

  async download(url: string, file: string): Promise<FileDigest> {
    const bytes = this.downloads.get(url);
    if (!bytes) throw new Error(`GET ${url} answered 404`);
    await writeFile(file, bytes);
    return { sha256: createHash("sha256").update(bytes).digest("hex"), sizeBytes: bytes.length };
  }

  async upload(url: string, file: string, sizeBytes: number): Promise<number> {
    const bytes = await readFile(file);
    this.uploaded.push({ url, bytes });
    return bytes.length === sizeBytes ? 201 : 400;
  }

  async put(url: string, file: string, sizeBytes: number): Promise<PutAnswer> {
    const answer = this.putAnswers.shift();
    if (answer instanceof Error) {
      this.putAttempts.push({ url, status: 0 });
      throw answer;
    }
    const bytes = await readFile(file);
    const status = answer?.status ?? (bytes.length === sizeBytes ? 201 : 400);
    this.putAttempts.push({ url, status });
    if (status === 200 || status === 201) this.puts.push({ url, bytes });
    return { status, message: answer?.message ?? (status === 400 ? "the body does not match the reservation" : "") };
  }

  /** The bytes stored for an output, by the name the PUT URL carries. */
  storedOutput(assignmentId: string, name: string): Buffer | undefined {
    const prefix = `/outputs/${assignmentId}/${name.split("/").map(encodeURIComponent).join("/")}?`;
    return this.puts.find((p) => p.url.includes(prefix))?.bytes;
  }
}
