import { createHash } from "node:crypto";
import { Readable, Transform } from "node:stream";
import type { DataSource } from "typeorm";
import type { Logger } from "pino";
import { artifactById, markArtifactStored } from "../db/repositories/artifact.repository";
import { checkpointById, storeCheckpoint } from "../db/repositories/lifecycle.repository";
import type { BlobRef, BlobStore, ByteRange } from "../storage/blob-store";
import { ServiceError, badInput, conflict, notFound } from "./errors";
import type { TransferKind, TransferUrls } from "./transfer-urls";

/** The largest body each kind of upload takes. */
export interface TransferLimits {
  checkpointMaxBytes: number;
  inputMaxBytes: number;
  outputMaxBytes: number;
}

/** What a PUT to a signed URL did. */
export interface Received {
  /** 201 stored now, 200 stored before (the body was not read). */
  status: 200 | 201;
  sha256: string;
  sizeBytes: bigint;
}

/** What a PUT's Content-Range asks of a resumable upload: how far it is (`bytes *\/total`), or to store `start..end`. */
export type UploadRange = { kind: "query"; total: bigint } | { kind: "part"; start: bigint; end: bigint; total: bigint };

/** What a resumable PUT did: stored whole (200, 201), or `offset` bytes stored so far (202). */
export interface ReceivedPart {
  status: 200 | 201 | 202;
  sha256: string;
  sizeBytes: bigint;
  offset: bigint;
}

/** A blob ready to be served for a signed GET. */
export interface Download {
  sha256: string;
  sizeBytes: bigint;
  fileName: string;
  /** The bytes (or a range). A whole read is hashed as it streams and cut short if the bytes are not the blob's. */
  open(range?: ByteRange): Promise<Readable>;
}

interface Target {
  sha256: string;
  sizeBytes: bigint;
  stored: boolean;
  fileName: string;
  markStored(): Promise<boolean>;
}

/**
 * Bytes through the API's signed URLs, for stores the API serves (and for uploads to any store): a PUT is streamed
 * into the blob store, counted and hashed on the way (memory does not grow with the size), and the record is marked
 * stored only after the store has the whole, verified blob. A GET streams the blob, honouring ranges.
 */
export class TransferService {
  constructor(
    private readonly db: DataSource,
    private readonly store: BlobStore,
    readonly urls: TransferUrls,
    private readonly limits: TransferLimits,
    private readonly logger: Logger,
    private readonly resultManifest: (jobId: string) => Promise<{ bytes: Buffer; sha256: string } | undefined>,
  ) {}

  /** A download URL: straight to the store when it serves them (S3), through the API otherwise. */
  async downloadUrl(kind: TransferKind, id: string, sha256: string, fileName: string): Promise<{ url: string; expiresAt: Date }> {
    if (this.store.direct && kind !== "result") {
      const expiresAt = new Date(Date.now() + this.urls.ttlSeconds * 1000);
      return { url: await this.store.direct.downloadUrl(sha256, this.urls.ttlSeconds, fileName), expiresAt };
    }
    return this.urls.signed(kind, "get", id);
  }

  /**
   * A presigned PUT straight to the store for this upload (S3 with direct uploads on, the blob within one PUT), or
   * null: then the bytes go to the API's own signed URL. Bytes PUT there count once {@link confirmDirect} adopts them.
   */
  async directUploadUrl(kind: Exclude<TransferKind, "result">, id: string, ref: BlobRef): Promise<{ url: string; expiresAt: Date } | null> {
    const uploads = this.store.direct?.uploads;
    if (!uploads || ref.sizeBytes > uploads.maxBytes) return null;
    const expiresAt = new Date(Date.now() + this.urls.ttlSeconds * 1000);
    return { url: await uploads.uploadUrl(`${kind}-${id}`, ref, this.urls.ttlSeconds), expiresAt };
  }

  /**
   * Counts a direct upload: when the record is not stored yet and the store holds bytes PUT to its direct URL, they
   * are checked (size, sha256) and become its blob, and the record is marked stored. True when it is stored (now or
   * before), false when nothing was uploaded yet. Bytes that do not match are deleted: BAD_USER_INPUT, and the URL
   * may be used again while it lives.
   */
  async confirmDirect(kind: Exclude<TransferKind, "result">, id: string): Promise<boolean> {
    const target = await this.target(kind, id);
    return target.stored || (await this.adoptDirect(kind, id, target)) !== null;
  }

  /** The direct upload of an unstored record made its blob and the record stored, or null when there is none. */
  private async adoptDirect(kind: Exclude<TransferKind, "result">, id: string, target: Target): Promise<Received | null> {
    const uploads = this.store.direct?.uploads;
    if (!uploads || target.sizeBytes > uploads.maxBytes) return null;
    if (!(await uploads.adopt(`${kind}-${id}`, { sha256: target.sha256, sizeBytes: target.sizeBytes }))) return null;
    return this.stored(kind, id, target);
  }

  /** Takes the body of a PUT; `declaredLength` is its Content-Length, when it has one. */
  async receive(kind: TransferKind, id: string, expires: string | undefined, signature: string | undefined, body: Readable, declaredLength?: number): Promise<Received> {
    if (kind === "result") throw badInput("a job's result manifest is made by the server; nothing is uploaded to it");
    this.urls.verify(kind, "put", id, expires, signature);
    const target = await this.target(kind, id);
    if (target.stored) return { status: 200, sha256: target.sha256, sizeBytes: target.sizeBytes };
    this.checkLimit(kind, target.sizeBytes);
    if (declaredLength !== undefined && BigInt(declaredLength) !== target.sizeBytes) {
      throw badInput(`the body is ${declaredLength} bytes (Content-Length); ${target.sizeBytes} were declared; nothing was stored`);
    }
    await this.store.put({ sha256: target.sha256, sizeBytes: target.sizeBytes }, body);
    return this.stored(kind, id, target);
  }

  /**
   * A resumable PUT (`Content-Range`): `query` answers how many bytes are stored so far (202, `offset`), `part`
   * appends the body at `range.start`, which must be that offset (UploadOffsetError otherwise). The last byte makes
   * the whole upload the blob (checked against the reserved size and sha256) and marks the record stored (201); before
   * that the answer is 202 with the new offset. A broken body keeps what reached the store.
   */
  async receivePart(kind: TransferKind, id: string, expires: string | undefined, signature: string | undefined, range: UploadRange, body: Readable, declaredLength?: number): Promise<ReceivedPart> {
    if (kind === "result") throw badInput("a job's result manifest is made by the server; nothing is uploaded to it");
    this.urls.verify(kind, "put", id, expires, signature);
    const target = await this.target(kind, id);
    if (target.stored) return { status: 200, sha256: target.sha256, sizeBytes: target.sizeBytes, offset: target.sizeBytes };
    this.checkLimit(kind, target.sizeBytes);
    if (range.total !== target.sizeBytes) throw badInput(`the Content-Range says ${range.total} bytes in all; ${target.sizeBytes} were declared; nothing was stored`);
    const upload = `${kind}-${id}`;
    const ref = { sha256: target.sha256, sizeBytes: target.sizeBytes };
    if (range.kind === "query") {
      const offset = await this.store.resumable.offset(upload, ref);
      // "how far is it?" after a PUT straight to the store: its bytes are counted now
      const adopted = offset === 0n ? await this.adoptDirect(kind, id, target) : null;
      if (adopted) return { ...adopted, offset: target.sizeBytes };
      return { status: 202, sha256: target.sha256, sizeBytes: target.sizeBytes, offset };
    }
    if (declaredLength !== undefined && BigInt(declaredLength) !== range.end - range.start + 1n) {
      throw badInput(`the body is ${declaredLength} bytes (Content-Length); its Content-Range has ${range.end - range.start + 1n}; nothing was stored`);
    }
    const offset = await this.store.resumable.append(upload, ref, range.start, body);
    if (offset < target.sizeBytes) return { status: 202, sha256: target.sha256, sizeBytes: target.sizeBytes, offset };
    return { ...(await this.stored(kind, id, target)), offset };
  }

  private checkLimit(kind: Exclude<TransferKind, "result">, sizeBytes: bigint): void {
    const max = kind === "checkpoint" ? this.limits.checkpointMaxBytes : kind === "input" ? this.limits.inputMaxBytes : this.limits.outputMaxBytes;
    if (sizeBytes > BigInt(max)) throw new ServiceError("PAYLOAD_TOO_LARGE", `this ${kind} may be at most ${max} bytes`);
  }

  /** Marks the record stored once its blob is in the store: 201, or 200 when it was (by the same bytes) already. */
  private async stored(kind: Exclude<TransferKind, "result">, id: string, target: Target): Promise<Received> {
    if (!(await target.markStored())) {
      const again = await this.target(kind, id);
      if (!again.stored || again.sha256 !== target.sha256 || again.sizeBytes !== target.sizeBytes) {
        throw conflict(`this ${kind} can no longer be stored: its retention ended, or it was reserved again with other bytes`);
      }
      return { status: 200, sha256: target.sha256, sizeBytes: target.sizeBytes };
    }
    return { status: 201, sha256: target.sha256, sizeBytes: target.sizeBytes };
  }

  /** The blob behind a signed GET URL. NOT_FOUND when its record is gone, not yet stored, or released. */
  async download(kind: TransferKind, id: string, expires: string | undefined, signature: string | undefined): Promise<Download> {
    this.urls.verify(kind, "get", id, expires, signature);
    if (kind === "result") {
      const manifest = await this.resultManifest(id);
      if (!manifest) throw notFound("result", id);
      return {
        sha256: manifest.sha256,
        sizeBytes: BigInt(manifest.bytes.length),
        fileName: "manifest.txt",
        open: async (range) => Readable.from([range ? manifest.bytes.subarray(range.start, range.end + 1) : manifest.bytes]),
      };
    }
    const target = await this.target(kind, id);
    if (!target.stored) throw notFound(kind, id);
    return {
      sha256: target.sha256,
      sizeBytes: target.sizeBytes,
      fileName: target.fileName,
      open: async (range) => {
        const stream = await this.store.read(target.sha256, range);
        return range ? stream : stream.pipe(this.verifying(target.sha256, kind, id));
      },
    };
  }

  private async target(kind: Exclude<TransferKind, "result">, id: string): Promise<Target> {
    if (kind === "checkpoint") {
      const c = await checkpointById(this.db, id);
      if (!c || c.purgedAt) throw notFound("checkpoint", id);
      return { sha256: c.sha256, sizeBytes: c.sizeBytes, stored: c.storedAt !== null, fileName: `step-${c.step}.ckpt`, markStored: () => storeCheckpoint(this.db, id, c.sha256, c.sizeBytes) };
    }
    const a = await artifactById(this.db, id);
    if (!a || a.purgedAt || a.kind !== (kind === "input" ? "INPUT" : "OUTPUT")) throw notFound(kind, id);
    return { sha256: a.sha256, sizeBytes: a.sizeBytes, stored: a.storedAt !== null, fileName: a.name.split("/").at(-1) ?? a.name, markStored: () => markArtifactStored(this.db, id, a.sha256, a.sizeBytes) };
  }

  /**
   * Passes the bytes on while hashing them, one chunk behind: the last chunk goes out only once the whole hash is
   * checked, so a client never receives all the bytes of a blob that does not match (the response ends with an error).
   */
  private verifying(sha256: string, kind: string, id: string): Transform {
    const hash = createHash("sha256");
    const logger = this.logger;
    let held: Buffer | undefined;
    return new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        const out = held;
        held = chunk;
        done(null, out);
      },
      flush(done) {
        const actual = hash.digest("hex");
        if (actual === sha256) return done(null, held);
        logger.error({ kind, id, sha256, actual }, "a stored blob's bytes do not match its hash; the download was cut");
        done(new Error("the stored bytes do not match their hash"));
      },
    });
  }
}
