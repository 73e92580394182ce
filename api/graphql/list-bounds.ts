import { REGIONS } from "../../matching";
import { MAX_GPU_MODELS } from "../services/requirements";
import { MAX_CANDLES, DEFAULT_BOOK_DEPTH, MAX_BOOK_DEPTH } from "../services/market.service";
import { MAX_GPU_GROUPS } from "../services/node.service";
import { PAGE_DEFAULT, PAGE_MAX } from "../services/paging";
import { MAX_COMMAND_ARGS, MAX_ENV_VARS } from "../services/workload";
import { MAX_LOG_LINES_READ, DEFAULT_LOG_LINES_READ } from "../services/log.service";
import { MAX_NODE_ASSIGNMENTS_LISTED } from "../services/assignment.service";
import { SIGNED_ORDERS_PAGE } from "../services/job-order.service";
import { ExclusionReason } from "./enums";
import type { ListBound, ListBounds } from "./query-cost";

/**
 * Lists the API cuts to a bound of its own (their resolvers keep the first ones, in the list's order): nothing else
 * bounds them (nodes per provider, markets, revoked API keys, a long job's checkpoints), and a query's cost counts
 * every list at its bound.
 */
export const LISTED = {
  /** Query.myNodes, oldest first. */
  nodes: 200,
  /** Node.offers(first): its default and most. */
  nodeOffersDefault: 20,
  nodeOffers: 100,
  /** Query.markets. */
  markets: 500,
  /** Me.apiKeys: live keys (at most 50) first, then the newest revoked ones. */
  apiKeys: 100,
  /** Job.checkpoints: the last ones by step. */
  checkpoints: 100,
  /** Job.assignments: replicas × attempts (10 × 20 at most by configuration). */
  jobAssignments: 200,
  /** Settlement.debts: the first ones by debt id (a batch has one line per client; a hundred unpaid is already an incident). */
  settlementDebts: 100,
  /** Query.settlementChallenges: the oldest open ones (each builds its answer). */
  challenges: 100,
} as const;

/** The settings some bounds follow. */
export interface BoundSettings {
  /** JOB_MAX_INPUTS: a job's inputs. */
  jobMaxInputs: number;
  /** OUTPUT_MAX_FILES: an assignment's outputs. */
  outputMaxFiles: number;
}

const page = (): ListBound => ({ arg: "first", default: PAGE_DEFAULT, max: PAGE_MAX, of: "parent" });
const exclusions = Object.keys(ExclusionReason).length;

/**
 * The bound of every list field of the schema, by coordinate (a test checks none is missing): connections by their
 * field's `first` (default 20, at most 100), the others by what the services refuse past, or by {@link LISTED}.
 */
export function listBounds(settings: BoundSettings): ListBounds {
  return new Map<string, ListBound>([
    // connections
    ["OfferConnection.edges", page()],
    ["JobConnection.edges", page()],
    ["TradeConnection.edges", page()],
    ["SettlementConnection.edges", page()],
    ["SourceConnection.edges", page()],
    ["ChainEventConnection.edges", page()],
    // root lists
    ["Query.myNodes", { max: LISTED.nodes }],
    ["Query.markets", { max: LISTED.markets }],
    ["Query.regions", { max: REGIONS.length }],
    ["Query.candles", { max: MAX_CANDLES }],
    ["Query.assignments", { arg: "first", default: MAX_NODE_ASSIGNMENTS_LISTED, max: MAX_NODE_ASSIGNMENTS_LISTED }],
    ["Query.assignmentInputs", { max: settings.jobMaxInputs }],
    ["Query.settlementChallenges", { max: LISTED.challenges }],
    // lists of objects
    ["OrderBook.asks", { arg: "depth", default: DEFAULT_BOOK_DEPTH, max: MAX_BOOK_DEPTH, of: "parent" }],
    ["OrderBook.bids", { arg: "depth", default: DEFAULT_BOOK_DEPTH, max: MAX_BOOK_DEPTH, of: "parent" }],
    ["Node.gpus", { max: MAX_GPU_GROUPS }],
    ["Node.offers", { arg: "first", default: LISTED.nodeOffersDefault, max: LISTED.nodeOffers }],
    ["Me.apiKeys", { max: LISTED.apiKeys }],
    ["Me.signedOrders", { arg: "first", default: SIGNED_ORDERS_PAGE.default, max: SIGNED_ORDERS_PAGE.max }],
    ["Job.assignments", { max: LISTED.jobAssignments }],
    ["Job.checkpoints", { max: LISTED.checkpoints }],
    ["Settlement.debts", { max: LISTED.settlementDebts }],
    ["Job.inputs", { max: settings.jobMaxInputs }],
    ["Job.outputs", { max: settings.outputMaxFiles }],
    ["Job.logs", { arg: "last", default: DEFAULT_LOG_LINES_READ, max: MAX_LOG_LINES_READ }],
    ["Job.excluded", { max: exclusions }],
    ["Quote.excluded", { max: exclusions }],
    ["Job.env", { max: MAX_ENV_VARS }],
    ["Source.env", { max: MAX_ENV_VARS }],
    ["Job.command", { max: MAX_COMMAND_ARGS }],
    ["Source.command", { max: MAX_COMMAND_ARGS }],
    ["JobRequirements.gpuModels", { max: MAX_GPU_MODELS }],
    ["IndexerStatus.contracts", { max: 3 }],
    // a Merkle proof: one sibling per level of a tree of at most 2^17 leaves (a batch's jobs and providers)
    ["ReputationProof.proof", { max: 32 }],
  ]);
}

/** The first `max` items of a list the API bounds itself ({@link LISTED}). */
export function firstOf<T>(items: readonly T[], max: number): T[] {
  return items.length > max ? items.slice(0, max) : [...items];
}
