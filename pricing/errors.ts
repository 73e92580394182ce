/** Codes of every error raised by pricing/. */
export const PRICING_ERROR_CODES = [
  "INVALID_AMOUNT",
  "NEGATIVE_AMOUNT",
  "TOO_MANY_DECIMALS",
  "AMOUNT_TOO_LARGE",
  "INVALID_QUANTITY",
  "INVALID_FEE",
  "INVALID_TIME",
] as const;
export type PricingErrorCode = (typeof PRICING_ERROR_CODES)[number];

export class PricingError extends Error {
  constructor(
    readonly code: PricingErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "PricingError";
  }
}
