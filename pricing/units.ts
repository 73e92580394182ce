import { PricingError } from "./errors";

/** Fractional digits of OGPU: 1 OGPU = 10^18 wei. */
export const DECIMALS = 18;
/** 10^18, one whole OGPU in wei. */
export const WEI_PER_UNIT = 10n ** BigInt(DECIMALS);
/** Largest amount that fits Postgres numeric(78,0) and a uint256: 2^256 - 1 wei. */
export const MAX_WEI = 2n ** 256n - 1n;
/** Highest price per GPU-hour the marketplace takes, on an offer or as a job's cap: 10^6 OGPU in wei. */
export const MAX_PRICE_WEI = 10n ** 24n;

const DECIMAL_PATTERN = /^(\d+)(?:\.(\d+))?$/;

/**
 * Parses a non-negative decimal string of OGPU ("1.5", "2", "0.000001") into wei.
 * Exact: no rounding; more than 18 fractional digits is an error, not a truncation.
 * Rejects empty strings, signs, exponents, spaces, leading/trailing dots and values above {@link MAX_WEI}.
 */
export function parseDecimal(text: string): bigint {
  if (typeof text !== "string" || text.length === 0) {
    throw new PricingError("INVALID_AMOUNT", "an amount must be a decimal string such as \"1.5\"");
  }
  if (text.length > 100) throw new PricingError("INVALID_AMOUNT", "an amount may have at most 100 characters");
  if (text.startsWith("-")) throw new PricingError("NEGATIVE_AMOUNT", `amount "${text}" is negative; amounts are zero or more`);
  const match = DECIMAL_PATTERN.exec(text);
  if (!match) throw new PricingError("INVALID_AMOUNT", `"${text}" is not a decimal amount; write digits with an optional fraction, e.g. "2.25"`);
  const whole = match[1];
  const fraction = match[2] ?? "";
  if (fraction.length > DECIMALS) {
    throw new PricingError("TOO_MANY_DECIMALS", `"${text}" has ${fraction.length} fractional digits; at most ${DECIMALS} are allowed`);
  }
  const wei = BigInt(whole) * WEI_PER_UNIT + BigInt(fraction.padEnd(DECIMALS, "0") || "0");
  if (wei > MAX_WEI) throw new PricingError("AMOUNT_TOO_LARGE", `"${text}" is larger than the largest amount (2^256 - 1 wei)`);
  return wei;
}

/**
 * Formats wei as the shortest decimal string of OGPU: no trailing zeros, no trailing dot
 * (10^18 -> "1", 15 * 10^17 -> "1.5", 1 -> "0.000000000000000001"). Inverse of {@link parseDecimal}.
 */
export function formatDecimal(wei: bigint): string {
  if (wei < 0n) throw new PricingError("NEGATIVE_AMOUNT", `cannot format a negative amount (${wei} wei)`);
  const whole = wei / WEI_PER_UNIT;
  const fraction = (wei % WEI_PER_UNIT).toString().padStart(DECIMALS, "0").replace(/0+$/, "");
  return fraction.length > 0 ? `${whole}.${fraction}` : whole.toString();
}
