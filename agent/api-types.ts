import { z } from "zod";

const pendingAssignment = z.object({
  id: z.string().min(1),
  attempt: z.number().int().nullish().transform((n) => n ?? 1),
  leaseExpiresAt: z.string().nullish(),
  resumeFrom: z
    .object({ step: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-fA-F]{64}$/), downloadUrl: z.string().min(1) })
    .nullish()
    .transform((r) => r ?? null),
  job: z.object({
    id: z.string().min(1),
    kind: z.string().nullish(),
    image: z.string().nullish().transform((s) => (s && s.trim() !== "" ? s : null)),
    command: z.array(z.string()).nullish().transform((c) => c ?? []),
    env: z
      .array(z.object({ name: z.string(), value: z.string() }))
      .nullish()
      .transform((e) => e ?? []),
    inputUri: z.string().nullish().transform((s) => s ?? null),
    maxDurationSeconds: z.number().int().positive().nullish().transform((n) => n ?? null),
    checkpointIntervalSeconds: z.number().int().positive().nullish().transform((n) => n ?? null),
    requirements: z.object({ gpuCount: z.number().int().min(1), minVramGb: z.number().int().nullish() }),
  }),
});

/** An assignment waiting to start, as PendingAssignments returns it (missing lists as empty, missing values as null). */
export type PendingAssignment = z.infer<typeof pendingAssignment>;

/**
 * Reads PendingAssignments' answer. Entries that do not have the contract's shape are returned apart (with
 * the reason) rather than failing the whole list.
 */
export function readPendingAssignments(data: unknown): { assignments: PendingAssignment[]; malformed: { id: string | null; reason: string }[] } {
  const list = (data as { assignments?: unknown } | null)?.assignments;
  const assignments: PendingAssignment[] = [];
  const malformed: { id: string | null; reason: string }[] = [];
  for (const entry of Array.isArray(list) ? list : []) {
    const parsed = pendingAssignment.safeParse(entry);
    if (parsed.success) assignments.push(parsed.data);
    else {
      const id = typeof (entry as { id?: unknown })?.id === "string" ? (entry as { id: string }).id : null;
      const issue = parsed.error.issues[0];
      malformed.push({ id, reason: `${issue.path.join(".")}: ${issue.message}` });
    }
  }
  return { assignments, malformed };
}

/** An open offer as MyNodes lists it. */
export interface NodeOffer {
  id: string;
  market: string;
  pricePerGpuHour: string;
  availableGpus: number;
}

/** A node as MyNodes lists it (the fields the agent reads). */
export interface MyNode {
  id: string;
  name: string;
  offers: NodeOffer[];
}

/** RegisterNode's answer. */
export interface RegisteredNode {
  registerNode: { id: string; name: string; region: string; status: string };
}

/** PostOffer's answer (the fields the agent reads). */
export interface PostedOffer {
  postOffer: { id: string; market: string; pricePerGpuHour: string; gpuCount: number; status: string };
}
