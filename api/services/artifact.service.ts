import type { DataSource } from "typeorm";
import { lockAccount } from "../db/repositories/account.repository";
import {
  artifactsByIds,
  countOutputs,
  hasOutputNamed,
  inputBytesOf,
  inputsOfJobs,
  insertInput,
  outputsOfAssignment,
  reserveOutput,
  touchBlob,
  winningOutputs,
  type ArtifactRecord,
  type JobInputRecord,
} from "../db/repositories/artifact.repository";
import { jobIdOfAssignment, lockAssignment } from "../db/repositories/lifecycle.repository";
import { lockJob } from "../db/repositories/job.repository";
import { assignmentAccess } from "../db/repositories/assignment.repository";
import { isRelayJobOf } from "../db/repositories/job-read.repository";
import { inTransaction } from "../db/transaction";
import { assertNoPathUnderAnother, assertRelativeName, outputManifest, sha256Of } from "./artifact-names";
import { ServiceError, badInput, conflict, forbidden, notFound } from "./errors";
import { assertId, isId, requirePrincipal, type Principal } from "./principal";
import type { TransferService } from "./transfer.service";
import { BlobMismatchError, type BlobRef } from "../storage/blob-store";
import type { EntityManager } from "typeorm";

export interface ArtifactSettings {
  /** Bytes of inputs an account may keep at once. */
  storageQuotaBytes: bigint;
  inputMaxBytes: number;
  outputMaxBytes: number;
  /** Output files per assignment. */
  maxOutputs: number;
  /** Inputs per job. */
  maxInputs: number;
  /** How long outputs are kept after their job ends. */
  resultRetentionMs: number;
}

/** A file with a short-lived signed URL. */
export interface Linked<T> {
  record: T;
  url: string | null;
  expiresAt: Date | null;
}

/** A job's result as its owner sees it. */
export interface ResultView {
  sizeBytes: bigint | null;
  downloadUrl: string | null;
  expiresAt: Date | null;
}

/** What a job needs of its owner to show its data: who owns it, when it ended. */
export interface JobRef {
  id: string;
  clientId: string;
  resultHash: string | null;
  endedAt: Date | null;
}

/**
 * A job's data: a client's input files (reserved, then PUT through a signed URL), the inputs a job names, the outputs
 * an assignment uploads (whose manifest's sha256 is its result hash), and the signed download URLs of the winning
 * replica's outputs, for the job's owner only, while they are kept.
 */
export class ArtifactService {
  constructor(
    private readonly db: DataSource,
    private readonly transfers: TransferService,
    private readonly settings: ArtifactSettings,
  ) {}

  /** Reserves an input file of the caller's; the bytes go with a PUT to the URL before it expires. */
  async createInputUpload(principal: Principal | undefined, input: { name: string; sizeBytes: bigint; sha256: string }): Promise<{ artifact: ArtifactRecord; uploadUrl: string; expiresAt: Date }> {
    const who = requirePrincipal(principal);
    assertRelativeName("name", input.name);
    const sha256 = sha256Of("sha256", input.sha256);
    if (input.sizeBytes < 0n) throw badInput("sizeBytes must be 0 or more");
    if (input.sizeBytes > BigInt(this.settings.inputMaxBytes)) throw new ServiceError("PAYLOAD_TOO_LARGE", `an input may be at most ${this.settings.inputMaxBytes} bytes`);
    const artifact = await inTransaction(this.db, async (tx) => {
      // one reservation at a time per account, so two at once cannot both fit under the quota
      await lockAccount(tx, who.accountId); // serializes the account's input reservations against the quota
      const used = await inputBytesOf(tx, who.accountId);
      if (used + input.sizeBytes > this.settings.storageQuotaBytes) {
        throw new ServiceError("QUOTA_EXCEEDED", `your inputs keep ${used} bytes; this one (${input.sizeBytes}) would pass your quota of ${this.settings.storageQuotaBytes} bytes. Inputs are released when their jobs end`);
      }
      await touchBlob(tx, sha256, input.sizeBytes);
      return insertInput(tx, who.accountId, input.name, sha256, input.sizeBytes);
    });
    const { url, expiresAt } = (await this.transfers.directUploadUrl("input", artifact.id, artifact)) ?? this.transfers.urls.signed("input", "put", artifact.id);
    return { artifact, uploadUrl: url, expiresAt };
  }

  /**
   * Counts the bytes that went straight to the store for the caller's inputs that are not stored yet (before submitJob's
   * transaction, which then finds them stored). Another's artifact, or one that is not an input, is left to
   * {@link checkJobInputs} to refuse; bytes that do not match are BAD_USER_INPUT (and deleted).
   */
  async confirmInputs(principal: Principal | undefined, inputs: readonly { artifactId: string }[]): Promise<void> {
    const who = requirePrincipal(principal);
    const ids = inputs.map((i) => i.artifactId).filter((id) => isId(id));
    if (ids.length === 0 || ids.length > this.settings.maxInputs) return;
    const pending = (await artifactsByIds(this.db, ids)).filter((a) => a.kind === "INPUT" && a.accountId === who.accountId && !a.storedAt && !a.purgedAt);
    for (const a of pending) {
      try {
        await this.transfers.confirmDirect("input", a.id);
      } catch (error) {
        if (error instanceof BlobMismatchError) throw badInput(`artifact ${a.id}: ${error.message}; PUT its bytes again`);
        throw error;
      }
    }
  }

  /** {@link TransferService.directUploadUrl} of an output or checkpoint just reserved. */
  directUploadUrl(kind: "checkpoint" | "output", id: string, ref: BlobRef): Promise<{ url: string; expiresAt: Date } | null> {
    return this.transfers.directUploadUrl(kind, id, ref);
  }

  /**
   * Checks a job's inputs as submitJob gets them, in its transaction: distinct valid paths, the caller's own artifacts
   * (another's is FORBIDDEN), fully uploaded and kept (BAD_USER_INPUT otherwise). Returns them with their artifacts.
   */
  async checkJobInputs(tx: EntityManager, who: Principal, inputs: readonly { artifactId: string; path: string }[]): Promise<{ path: string; artifactId: string }[]> {
    if (inputs.length > this.settings.maxInputs) throw badInput(`a job may have at most ${this.settings.maxInputs} inputs`);
    const paths = new Set<string>();
    for (const i of inputs) {
      assertRelativeName("an input's path", i.path);
      if (paths.has(i.path)) throw badInput(`two inputs have the path ${JSON.stringify(i.path)}`);
      paths.add(i.path);
      assertId("artifact", i.artifactId);
    }
    assertNoPathUnderAnother("the input path", [...paths]);
    // shared locks until the job is stored: the retention sweep cannot release them in between
    const found = new Map((await artifactsByIds(tx, inputs.map((i) => i.artifactId), "share")).map((a) => [a.id, a]));
    for (const i of inputs) {
      const a = found.get(i.artifactId);
      if (!a || a.kind !== "INPUT") throw notFound("artifact", i.artifactId);
      if (a.accountId !== who.accountId) throw forbidden(`artifact ${a.id} belongs to another account`);
      if (a.purgedAt) throw badInput(`artifact ${a.id} is no longer kept; upload it again`);
      if (!a.storedAt) throw badInput(`artifact ${a.id} is not uploaded yet: PUT its bytes to its uploadUrl first`);
    }
    return inputs.map((i) => ({ path: i.path, artifactId: i.artifactId }));
  }

  /** Inputs of these jobs (batched). */
  async inputsOf(jobIds: readonly string[]): Promise<JobInputRecord[]> {
    return inputsOfJobs(this.db, jobIds);
  }

  /** The job's inputs for an assignment of the caller's node, each with a signed download URL. */
  async assignmentInputs(principal: Principal | undefined, assignmentId: string): Promise<Linked<JobInputRecord>[]> {
    const who = requirePrincipal(principal);
    assertId("assignment", assignmentId);
    const a = await assignmentAccess(this.db, assignmentId);
    if (!a) throw notFound("assignment", assignmentId);
    if (a.providerId !== who.accountId) throw forbidden("this assignment belongs to another provider's node");
    if (a.status !== "ASSIGNED" && a.status !== "RUNNING") throw conflict(`this assignment is ${a.status}; its inputs are for live work`);
    const inputs = await inputsOfJobs(this.db, [a.jobId]);
    return Promise.all(inputs.map(async (i) => ({ record: i, ...(await this.link("input", i.artifact)) })));
  }

  /** Reserves an output file of a RUNNING assignment of the caller's; the bytes go with a PUT to the URL. */
  async createOutputUpload(
    principal: Principal | undefined,
    assignmentId: string,
    name: string,
    sha256: string,
    sizeBytes: bigint,
  ): Promise<{ output: ArtifactRecord; uploadUrl: string; directUploadUrl: string | null }> {
    const who = requirePrincipal(principal);
    assertId("assignment", assignmentId);
    assertRelativeName("name", name);
    const hash = sha256Of("sha256", sha256);
    if (sizeBytes < 0n) throw badInput("sizeBytes must be 0 or more");
    if (sizeBytes > BigInt(this.settings.outputMaxBytes)) throw new ServiceError("PAYLOAD_TOO_LARGE", `an output may be at most ${this.settings.outputMaxBytes} bytes`);
    const jobId = await jobIdOfAssignment(this.db, assignmentId);
    if (!jobId) throw notFound("assignment", assignmentId);
    const output = await inTransaction(this.db, async (tx) => {
      await lockJob(tx, jobId);
      const a = await lockAssignment(tx, assignmentId);
      if (!a) throw notFound("assignment", assignmentId);
      if (a.providerId !== who.accountId) throw forbidden("this assignment belongs to another provider's node");
      if (a.status !== "RUNNING") throw conflict(`this assignment is ${a.status}; outputs come from running work`);
      if ((await countOutputs(tx, assignmentId)) >= this.settings.maxOutputs) {
        if (!(await hasOutputNamed(tx, assignmentId, name))) throw badInput(`an assignment may upload at most ${this.settings.maxOutputs} outputs`);
      }
      await touchBlob(tx, hash, sizeBytes);
      const reserved = await reserveOutput(tx, { jobId, assignmentId, providerId: a.providerId }, name, hash, sizeBytes);
      if (!reserved) throw conflict(`output ${JSON.stringify(name)} is already stored with other bytes`);
      return reserved;
    });
    const direct = output.storedAt ? null : await this.transfers.directUploadUrl("output", output.id, output);
    return { output, uploadUrl: this.transfers.urls.url("output", "put", output.id), directUploadUrl: direct?.url ?? null };
  }

  /**
   * Checks, when an assignment completes, that its result hash is its outputs' manifest: every reserved output stored,
   * and the manifest's sha256 equal to `resultHash`. An assignment that uploaded no outputs is not checked (an agent of
   * before outputs; its job then has none to download).
   */
  async assertResultOfOutputs(tx: EntityManager, assignmentId: string, resultHash: string): Promise<void> {
    const outputs = await outputsOfAssignment(tx, assignmentId);
    if (outputs.length === 0) return;
    const missing = outputs.filter((o) => !o.storedAt);
    if (missing.length > 0) throw badInput(`${missing.length} outputs are reserved but not uploaded (${missing.slice(0, 3).map((o) => o.name).join(", ")}); PUT them first`);
    const manifest = outputManifest(outputs);
    if (manifest.sha256 !== resultHash) throw badInput(`resultHash must be the sha256 of the outputs' manifest (${manifest.sha256} for the ${outputs.length} uploaded outputs)`);
  }

  /** The winning replica's outputs of these jobs (batched), by job. */
  async outputsOf(jobIds: readonly string[]): Promise<Map<string, ArtifactRecord[]>> {
    const byJob = new Map<string, ArtifactRecord[]>(jobIds.map((id) => [id, []]));
    for (const o of await winningOutputs(this.db, jobIds)) byJob.get(o.jobId!)?.push(o);
    return byJob;
  }

  /** Outputs with download URLs for the job's owner (null URLs for anyone else and once they are no longer kept). */
  async linkedOutputs(principal: Principal | undefined, job: JobRef, outputs: readonly ArtifactRecord[]): Promise<Linked<ArtifactRecord>[]> {
    const mayDownload = await this.ownerSees(principal, job);
    return Promise.all(outputs.map(async (o) => ({ record: o, ...(mayDownload && !o.purgedAt && o.storedAt ? await this.link("output", o) : { url: null, expiresAt: null }) })));
  }

  /** The result's size (its outputs' total) and the manifest's URL for the owner. */
  async resultView(principal: Principal | undefined, job: JobRef, outputs: readonly ArtifactRecord[]): Promise<ResultView> {
    if (outputs.length === 0) return { sizeBytes: null, downloadUrl: null, expiresAt: null };
    const sizeBytes = outputs.reduce((n, o) => n + o.sizeBytes, 0n);
    if (!(await this.ownerSees(principal, job)) || outputs.some((o) => o.purgedAt)) return { sizeBytes, downloadUrl: null, expiresAt: null };
    const { url, expiresAt } = this.transfers.urls.signed("result", "get", job.id);
    return { sizeBytes, downloadUrl: url, expiresAt };
  }

  /** The manifest of a job's winning outputs (the bytes whose sha256 is its result hash). */
  async resultManifest(jobId: string): Promise<{ bytes: Buffer; sha256: string } | undefined> {
    const outputs = (await this.outputsOf([jobId])).get(jobId) ?? [];
    if (outputs.length === 0 || outputs.some((o) => o.purgedAt)) return undefined;
    return outputManifest(outputs);
  }

  /** Whether the caller owns the job: its client, or for a relay job the account of the key that submitted it. */
  async ownerSees(principal: Principal | undefined, job: JobRef): Promise<boolean> {
    if (!principal) return false;
    if (principal.accountId === job.clientId) return true;
    return isRelayJobOf(this.db, job.id, principal.accountId);
  }

  private async link(kind: "input" | "output", a: ArtifactRecord): Promise<{ url: string; expiresAt: Date }> {
    return this.transfers.downloadUrl(kind, a.id, a.sha256, a.name.split("/").at(-1) ?? a.name);
  }
}
