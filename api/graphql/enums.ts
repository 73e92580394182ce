import { registerEnumType } from "type-graphql";

export enum NodeStatus {
  ONLINE = "ONLINE",
  OFFLINE = "OFFLINE",
}
export enum OfferStatus {
  OPEN = "OPEN",
  CANCELLED = "CANCELLED",
  EXPIRED = "EXPIRED",
}
export enum OrderSide {
  ASK = "ASK",
  BID = "BID",
}

registerEnumType(NodeStatus, { name: "NodeStatus", description: "ONLINE while heartbeats arrive within the window, OFFLINE after." });
registerEnumType(OfferStatus, { name: "OfferStatus", description: "Capacity in use shows in availableGpus, not in the status." });
registerEnumType(OrderSide, { name: "OrderSide" });

export enum JobKind {
  INFERENCE = "INFERENCE",
  TRAINING = "TRAINING",
  FINE_TUNING = "FINE_TUNING",
  BATCH = "BATCH",
  IMAGE_GENERATION = "IMAGE_GENERATION",
  EMBEDDINGS = "EMBEDDINGS",
  TRANSCODING = "TRANSCODING",
  RENDERING = "RENDERING",
  OTHER = "OTHER",
}
export enum JobStatus {
  PENDING = "PENDING",
  MATCHED = "MATCHED",
  RUNNING = "RUNNING",
  VALIDATING = "VALIDATING",
  COMPLETED = "COMPLETED",
  FAILED = "FAILED",
  CANCELLED = "CANCELLED",
  EXPIRED = "EXPIRED",
}
export enum AssignmentStatus {
  ASSIGNED = "ASSIGNED",
  RUNNING = "RUNNING",
  COMPLETED = "COMPLETED",
  FAILED = "FAILED",
  EXPIRED = "EXPIRED",
  CANCELLED = "CANCELLED",
  REJECTED = "REJECTED",
}
export enum MatchStrategy {
  BALANCED = "BALANCED",
  CHEAPEST = "CHEAPEST",
  FASTEST = "FASTEST",
  MOST_RELIABLE = "MOST_RELIABLE",
}
export enum ExclusionReason {
  GPU_COUNT = "GPU_COUNT",
  VRAM = "VRAM",
  MODEL = "MODEL",
  LATENCY = "LATENCY",
  PRICE = "PRICE",
  REPUTATION = "REPUTATION",
  STAKE = "STAKE",
  OFFLINE = "OFFLINE",
  SAME_PROVIDER = "SAME_PROVIDER",
  SELF_TRADE = "SELF_TRADE",
}
/** How long a job stays on the book: GTC rests until it matches or is cancelled; IOC is matched at once or cancelled. */
export enum TimeInForce {
  GTC = "GTC",
  IOC = "IOC",
}
export enum CandleInterval {
  ONE_MINUTE = "ONE_MINUTE",
  FIVE_MINUTES = "FIVE_MINUTES",
  ONE_HOUR = "ONE_HOUR",
  ONE_DAY = "ONE_DAY",
}

registerEnumType(JobKind, { name: "JobKind" });
registerEnumType(JobStatus, { name: "JobStatus", description: "PENDING rests on the book; VALIDATING compares redundant results." });
registerEnumType(AssignmentStatus, { name: "AssignmentStatus", description: "EXPIRED: the lease lapsed; REJECTED: lost the result vote." });
registerEnumType(MatchStrategy, { name: "MatchStrategy", description: "Preset weights of price, latency, VRAM fit and reputation." });
registerEnumType(ExclusionReason, { name: "ExclusionReason", description: "SELF_TRADE: the offer is the client's own account's, or a related account's (self-trade prevention)." });
registerEnumType(TimeInForce, { name: "TimeInForce", description: "GTC (good till cancelled, the default): rests on the book until matched; IOC (immediate or cancel): cancelled at once when no offer can fill it." });
registerEnumType(CandleInterval, { name: "CandleInterval" });

export enum SettlementStatus {
  PENDING = "PENDING",
  SUBMITTED = "SUBMITTED",
  CONFIRMED = "CONFIRMED",
  FINALIZED = "FINALIZED",
  FAILED = "FAILED",
}
registerEnumType(SettlementStatus, { name: "SettlementStatus", description: "PENDING: batched, not sent; SUBMITTED: sent; CONFIRMED: seen settled on chain; FINALIZED: final." });
