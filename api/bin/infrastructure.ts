import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { JsonRpcProvider } from "ethers";
import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import type { Config } from "../config";
import type { EventHub } from "../pubsub/event-hub";
import type { MatchQueue } from "../queues/matching.queue";
import type { Services } from "../services";
import type { Clock } from "../services/clock";
import type { ChainHealth } from "../../indexer";
import type { ChainSide } from "./chain-side";
import type { Shutdown } from "./shutdown";

/** What the composition root builds once and hands to each role it starts. */
export interface Infrastructure {
  config: Config;
  logger: Logger;
  /** The time services record by; the rate limiter's windows too. */
  clock: Clock;
  db: DataSource;
  /** Commands and BullMQ (no retry limit: commands wait for a reconnect). */
  redis: Redis;
  /** Pub/sub only. */
  subscriber: Redis;
  matchQueue: MatchQueue;
  /** The maintenance queue: the worker's sweep schedule, and the API's bull-board and metrics. */
  maintenanceQueue: Queue;
  events: EventHub;
  services: Services;
  shutdown: Shutdown;
  chainHealth: ChainHealth;
  /** The chain this process follows (an indexer role). */
  chainSide?: ChainSide;
  /** An API-only process's own view of the chain node. */
  monitorProvider?: JsonRpcProvider;
}
