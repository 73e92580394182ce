// The names other folders use of indexer/ (each module exports more for its own tests): import from here.
export type { BlockRef, ChainEvent, ChainPort, StorePort } from "./types";
export { Follower, type FollowerSettings, step, type StepResult } from "./follower";
export { backoffMs, ChainHealth, type ChainHealthView, type HealthChange, observedChain } from "./health";
