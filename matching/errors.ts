/** Codes of every error raised by matching/. */
export const MATCHING_ERROR_CODES = [
  "INVALID_GPU_MODEL",
  "INVALID_VRAM",
  "UNKNOWN_REGION",
  "INVALID_MARKET",
  "INVALID_WEIGHTS",
  "INVALID_REQUIREMENTS",
  "INVALID_CANDIDATE",
  "INVALID_HISTORY",
] as const;
export type MatchingErrorCode = (typeof MATCHING_ERROR_CODES)[number];

export class MatchingError extends Error {
  constructor(
    readonly code: MatchingErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "MatchingError";
  }
}
