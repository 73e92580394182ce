import type { EntityManager } from "typeorm";
import { updateReturning } from "../query";

type Db = Pick<EntityManager, "query">;

/** A client's input file or an assignment's output file: its record (the bytes are in the blob store by sha256). */
export interface ArtifactRecord {
  id: string;
  kind: "INPUT" | "OUTPUT";
  accountId: string;
  jobId: string | null;
  assignmentId: string | null;
  name: string;
  sha256: string;
  sizeBytes: bigint;
  storedAt: Date | null;
  purgedAt: Date | null;
  createdAt: Date;
}

const COLUMNS = `id, kind, account_id, job_id, assignment_id, name, sha256, size_bytes, stored_at, purged_at, created_at`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toArtifact(r: any): ArtifactRecord {
  return {
    id: r.id,
    kind: r.kind,
    accountId: r.account_id,
    jobId: r.job_id,
    assignmentId: r.assignment_id,
    name: r.name,
    sha256: r.sha256.trim(),
    sizeBytes: BigInt(r.size_bytes),
    storedAt: r.stored_at,
    purgedAt: r.purged_at,
    createdAt: r.created_at,
  };
}

/**
 * Notes that a blob is about to be written or is referenced again (the sweep leaves blobs touched within its grace
 * alone); the row lock also queues this behind a sweep deleting the same blob.
 */
export async function touchBlob(tx: Db, sha256: string, sizeBytes: bigint): Promise<void> {
  await tx.query(`INSERT INTO blobs (sha256, size_bytes) VALUES ($1, $2) ON CONFLICT (sha256) DO UPDATE SET touched_at = now()`, [sha256, String(sizeBytes)]);
}

export async function insertInput(tx: Db, accountId: string, name: string, sha256: string, sizeBytes: bigint): Promise<ArtifactRecord> {
  const [row] = await tx.query(`INSERT INTO artifacts (kind, account_id, name, sha256, size_bytes) VALUES ('INPUT', $1, $2, $3, $4) RETURNING ${COLUMNS}`, [
    accountId,
    name,
    sha256,
    String(sizeBytes),
  ]);
  return toArtifact(row);
}

/** Bytes an account keeps in inputs that are not purged (its quota counts these). */
export async function inputBytesOf(db: Db, accountId: string): Promise<bigint> {
  const [row] = await db.query(`SELECT coalesce(sum(size_bytes), 0)::text AS n FROM artifacts WHERE account_id = $1 AND kind = 'INPUT' AND purged_at IS NULL`, [accountId]);
  return BigInt(row.n);
}

export async function artifactById(db: Db, id: string): Promise<ArtifactRecord | undefined> {
  const [row] = await db.query(`SELECT ${COLUMNS} FROM artifacts WHERE id = $1`, [id]);
  return row ? toArtifact(row) : undefined;
}

export async function artifactsByIds(db: Db, ids: readonly string[], lock?: "share"): Promise<ArtifactRecord[]> {
  const rows = await db.query(`SELECT ${COLUMNS} FROM artifacts WHERE id = ANY($1::uuid[]) ORDER BY id${lock === "share" ? " FOR SHARE" : ""}`, [ids]);
  return rows.map(toArtifact);
}

/**
 * Marks an artifact's bytes stored, once, if it still names the blob that was received (`sha256`, `sizeBytes`); false
 * when it already was stored, was purged meanwhile, or was reserved again with other bytes while these streamed in.
 */
export async function markArtifactStored(db: Db, id: string, sha256: string, sizeBytes: bigint): Promise<boolean> {
  const rows = await updateReturning(
    db,
    `UPDATE artifacts SET stored_at = now() WHERE id = $1 AND sha256 = $2 AND size_bytes = $3 AND stored_at IS NULL AND purged_at IS NULL RETURNING id`,
    [id, sha256, String(sizeBytes)],
  );
  return rows.length > 0;
}

/**
 * Reserves an output of an assignment by name. The same name with the same hash and size returns the reservation
 * again; another hash for a name not yet stored replaces the reservation; for a stored one it is undefined.
 */
export async function reserveOutput(
  tx: Db,
  a: { jobId: string; assignmentId: string; providerId: string },
  name: string,
  sha256: string,
  sizeBytes: bigint,
): Promise<ArtifactRecord | undefined> {
  const rows = await tx.query(
    `INSERT INTO artifacts (kind, account_id, job_id, assignment_id, name, sha256, size_bytes) VALUES ('OUTPUT', $1, $2, $3, $4, $5, $6)
     ON CONFLICT (assignment_id, name) DO UPDATE SET sha256 = EXCLUDED.sha256, size_bytes = EXCLUDED.size_bytes
       WHERE artifacts.stored_at IS NULL OR (artifacts.sha256 = EXCLUDED.sha256 AND artifacts.size_bytes = EXCLUDED.size_bytes)
     RETURNING ${COLUMNS}`,
    [a.providerId, a.jobId, a.assignmentId, name, sha256, String(sizeBytes)],
  );
  return rows.length ? toArtifact(rows[0]) : undefined;
}

export async function countOutputs(db: Db, assignmentId: string): Promise<number> {
  const [row] = await db.query(`SELECT count(*)::int AS n FROM artifacts WHERE assignment_id = $1`, [assignmentId]);
  return row.n;
}

/** Whether an assignment already has an output (reserved or stored) named `name`. */
export async function hasOutputNamed(db: Db, assignmentId: string, name: string): Promise<boolean> {
  const [same] = await db.query(`SELECT 1 FROM artifacts WHERE assignment_id = $1 AND name = $2`, [assignmentId, name]);
  return same !== undefined;
}

/** An assignment's outputs, by name. */
export async function outputsOfAssignment(db: Db, assignmentId: string): Promise<ArtifactRecord[]> {
  const rows = await db.query(`SELECT ${COLUMNS} FROM artifacts WHERE assignment_id = $1 ORDER BY name COLLATE "C"`, [assignmentId]);
  return rows.map(toArtifact);
}

/** The outputs of each job's winning replica: the first completed assignment whose result hash is the job's. */
export async function winningOutputs(db: Db, jobIds: readonly string[]): Promise<ArtifactRecord[]> {
  const rows = await db.query(
    `SELECT ${COLUMNS.split(", ").map((c) => `o.${c}`).join(", ")} FROM artifacts o
       JOIN LATERAL (
         SELECT a.id FROM assignments a JOIN jobs j ON j.id = a.job_id
          WHERE a.job_id = o.job_id AND a.status = 'COMPLETED' AND a.result_hash = j.result_hash
          ORDER BY a.ended_at, a.id LIMIT 1
       ) w ON w.id = o.assignment_id
      WHERE o.job_id = ANY($1::uuid[]) AND o.kind = 'OUTPUT'
      ORDER BY o.job_id, o.name COLLATE "C"`,
    [jobIds],
  );
  return rows.map(toArtifact);
}

/** A job's inputs: where each goes and its artifact. */
export interface JobInputRecord {
  jobId: string;
  path: string;
  artifact: ArtifactRecord;
}

export async function insertJobInputs(tx: Db, jobId: string, inputs: readonly { path: string; artifactId: string }[]): Promise<void> {
  if (inputs.length === 0) return;
  await tx.query(`INSERT INTO job_inputs (job_id, path, artifact_id) SELECT $1, p, a FROM unnest($2::varchar[], $3::uuid[]) AS t(p, a)`, [
    jobId,
    inputs.map((i) => i.path),
    inputs.map((i) => i.artifactId),
  ]);
}

export async function inputsOfJobs(db: Db, jobIds: readonly string[]): Promise<JobInputRecord[]> {
  const rows = await db.query(
    `SELECT ji.job_id AS input_job_id, ji.path AS input_path, ${COLUMNS.split(", ").map((c) => `a.${c}`).join(", ")}
       FROM job_inputs ji JOIN artifacts a ON a.id = ji.artifact_id WHERE ji.job_id = ANY($1::uuid[]) ORDER BY ji.job_id, ji.path`,
    [jobIds],
  );
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return rows.map((r: any) => ({ jobId: r.input_job_id, path: r.input_path, artifact: toArtifact(r) }));
}
