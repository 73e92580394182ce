import { readFile, writeFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { ApiError, type GraphqlClient, type Variables } from "./client";
import type { FileDigest, Transfer } from "./transfer";

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
      case "CreateCheckpointUpload":
        return { createCheckpointUpload: { uploadUrl: `/checkpoints/${String(vars.id)}-${String(vars.step)}?sig=x`, checkpoint: { step: vars.step, sha256: vars.sha256 } } } as T;
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
}
