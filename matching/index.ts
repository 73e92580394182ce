// The names other folders use of matching/ (each module exports more for its own tests): import from here.
export { MATCHING_ERROR_CODES, MatchingError, type MatchingErrorCode } from "./errors";
export { marketIdOf, normalizeGpuModel, parseMarketId } from "./market-id";
export { regionById, REGIONS } from "./regions";
export { isKnownGpuModel } from "./gpu-catalog";
export type { Candidate, Exclusion, MatchStrategy, MatchWeights, Requirements } from "./types";
export { resolveWeights } from "./weights";
export { rankCandidates, selectOffers } from "./select";
export { explainShortfall } from "./exclusions";
export { bidsServedBy, type RestingBid } from "./resting-bids";
export { reputationOf } from "./reputation";
export { assertRequirements } from "./requirements";
export { OfferIndex } from "./offer-index";
