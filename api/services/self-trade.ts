import { bidsServedBy, type Candidate, type RestingBid } from "../../matching";
import type { EntityManager } from "typeorm";
import { restingJobsFor, type JobRecord } from "../db/repositories/job.repository";
import { relatedAccounts, relayOrderers } from "../db/repositories/related-accounts";
import { requirementsOf } from "./requirements";

type Db = Pick<EntityManager, "query">;

/**
 * Self-trade prevention: for each job, the accounts whose offers it may not match: its client, the account that
 * ordered it through the relay, and every account related to either (see relatedAccounts).
 */
export async function selfAccountsOf(db: Db, jobs: readonly Pick<JobRecord, "id" | "clientId">[]): Promise<Map<string, Set<string>>> {
  const orderers = await relayOrderers(db, jobs.map((j) => j.id));
  const related = await relatedAccounts(db, [...new Set([...jobs.map((j) => j.clientId), ...orderers.values()])]);
  const self = new Map<string, Set<string>>();
  for (const job of jobs) {
    const accounts = new Set(related.get(job.clientId));
    const orderer = orderers.get(job.id);
    if (orderer) for (const a of related.get(orderer) ?? [orderer]) accounts.add(a);
    self.set(job.id, accounts);
  }
  return self;
}

/** The resting bids an offer serves now, in the order it serves them, each with its self-trade set applied. */
export async function restingBidsServedBy(db: Db, offer: Candidate): Promise<RestingBid[]> {
  const jobs = await restingJobsFor(db, offer);
  if (jobs.length === 0) return [];
  const self = await selfAccountsOf(db, jobs);
  const bids = jobs.map((job) => ({ jobId: job.id, ordinal: Number(job.ordinal), requirements: { ...requirementsOf(job), selfAccounts: self.get(job.id) } }));
  return bidsServedBy(offer, bids);
}
