import DataLoader from "dataloader";
import type { NodeEntity } from "../db/entities/node.entity";
import type { AssignmentRecord, JobRecord } from "../db/repositories/job.repository";
import type { CheckpointRecord } from "../db/repositories/lifecycle.repository";
import type { ArtifactRecord, JobInputRecord } from "../db/repositories/artifact.repository";
import type { Principal, Services } from "../services";
import type { AccountView } from "../services/account.service";
import type { Freshness } from "../services/freshness";
import type { JobSettlementLine } from "../services/settlement.service";


/** What every resolver receives: the caller (if signed in), the services, per-request loaders. */
export interface GraphQLContext {
  principal?: Principal;
  services: Services;
  /** What this request's response is built from (the response cache's validity; see graphql/response-cache.ts). */
  cacheReads: Freshness[];
  loaders: {
    node: DataLoader<string, NodeEntity | undefined>;
    account: DataLoader<string, AccountView | undefined>;
    job: DataLoader<string, JobRecord | undefined>;
    assignmentsOfJob: DataLoader<string, AssignmentRecord[]>;
    checkpointsOfJob: DataLoader<string, CheckpointRecord[]>;
    inputsOfJob: DataLoader<string, JobInputRecord[]>;
    outputsOfJob: DataLoader<string, ArtifactRecord[]>;
    /** A job's settled line (one query for every job of a response, not one per job). */
    settlementOfJob: DataLoader<string, JobSettlementLine | undefined>;
  };
}

function byId<T extends { id: string }>(fetch: (ids: readonly string[]) => Promise<T[]>) {
  return new DataLoader<string, T | undefined>(async (ids) => {
    const rows = new Map((await fetch(ids)).map((r) => [r.id, r]));
    return ids.map((id) => rows.get(id));
  });
}

export function createContext(services: Services, principal: Principal | undefined): GraphQLContext {
  return {
    principal,
    services,
    cacheReads: [],
    loaders: {
      node: byId((ids) => services.nodes.byIds(ids)),
      account: byId((ids) => services.accounts.byIds(ids)),
      job: byId((ids) => services.jobs.byIds(ids)),
      assignmentsOfJob: new DataLoader(async (jobIds: readonly string[]) => {
        const rows = await services.jobs.assignments(jobIds);
        return jobIds.map((id) => rows.filter((a) => a.jobId === id));
      }),
      checkpointsOfJob: new DataLoader(async (jobIds: readonly string[]) => {
        const rows = await services.assignments.checkpointsOf(jobIds);
        return jobIds.map((id) => rows.filter((c) => c.jobId === id));
      }),
      inputsOfJob: new DataLoader(async (jobIds: readonly string[]) => {
        const rows = await services.artifacts.inputsOf(jobIds);
        return jobIds.map((id) => rows.filter((i) => i.jobId === id));
      }),
      outputsOfJob: new DataLoader(async (jobIds: readonly string[]) => {
        const byJob = await services.artifacts.outputsOf(jobIds);
        return jobIds.map((id) => byJob.get(id) ?? []);
      }),
      settlementOfJob: new DataLoader(async (jobIds: readonly string[]) => {
        const byJob = await services.settlements.ofJobs(jobIds);
        return jobIds.map((id) => byJob.get(id));
      }),
    },
  };
}
