import type { DataSource } from "typeorm";
import { insertSourceVersion, sourceById, sourcesBefore, type SourceRow } from "../db/repositories/source.repository";
import { badInput, notFound } from "./errors";
import type { JobKindValue } from "./job-kinds";
import { checkCommand, checkEnv, checkImage, checkKind } from "./workload";
import { decodeOrdinalCursor, ordinalCursor, pageSize } from "./paging";
import { assertId, requirePrincipal, type Principal } from "./principal";

export interface SourceRecord {
  id: string;
  ordinal: bigint;
  ownerId: string;
  name: string;
  version: number;
  kind: JobKindValue;
  image: string;
  command: string[] | null;
  env: { name: string; value: string }[] | null;
  description: string | null;
  createdAt: Date;
}

export interface PublishSourceData {
  name: string;
  kind: JobKindValue;
  image: string;
  command?: readonly string[] | null;
  env?: readonly { name: string; value: string }[] | null;
  description?: string | null;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/i;

function toSource(r: SourceRow): SourceRecord {
  return {
    id: r.id,
    ordinal: BigInt(r.ordinal),
    ownerId: r.owner_id,
    name: r.name,
    version: r.version,
    kind: r.kind as JobKindValue,
    image: r.image,
    command: r.command,
    env: r.env,
    description: r.description,
    createdAt: r.created_at,
  };
}

/** Workload sources: publishing a name again makes its next version; each version has its own id. */
export class SourceService {
  constructor(private readonly db: DataSource) {}

  async publish(principal: Principal | undefined, input: PublishSourceData): Promise<SourceRecord> {
    const who = requirePrincipal(principal);
    if (!NAME.test(input.name)) throw badInput("name: 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit");
    checkKind(input.kind);
    const image = checkImage(input.image);
    if (image === null) throw badInput("image is required: a container image reference");
    const command = checkCommand(input.command);
    const env = checkEnv(input.env);
    if (input.description && input.description.length > 2000) throw badInput("description may be at most 2000 characters");
    for (let attempt = 0; ; attempt++) {
      try {
        const row = await insertSourceVersion(this.db, { ownerId: who.accountId, name: input.name, kind: input.kind, image, command, env, description: input.description ?? null });
        return toSource(row);
      } catch (err) {
        // two publishes of one name at once: the loser takes the next version
        if ((err as { driverError?: { code?: string } }).driverError?.code === "23505" && attempt < 5) continue;
        throw err;
      }
    }
  }

  async byId(id: string): Promise<SourceRecord> {
    assertId("source", id);
    const row = await sourceById(this.db, id);
    if (!row) throw notFound("source", id);
    return toSource(row);
  }

  /** Every published version, newest first. */
  async list(first: number | null | undefined, after: string | null | undefined) {
    const size = pageSize(first);
    const before = after ? decodeOrdinalCursor("src", after) : undefined;
    const rows = await sourcesBefore(this.db, before, size + 1);
    const sources: SourceRecord[] = rows.slice(0, size).map(toSource);
    return { sources, cursors: sources.map((s) => ordinalCursor("src", s.ordinal)), hasNextPage: rows.length > size };
  }
}
