import { PricingError } from "./errors";

/** Seconds in one hour: prices are per GPU-hour, runs are measured in seconds. */
export const SECONDS_PER_HOUR = 3600n;
/** Largest fee in basis points: 10000 bps = 100%. */
export const MAX_FEE_BPS = 10_000;
const BPS_PER_UNIT = 10_000n;

function wholeCount(name: string, value: number, min: number): bigint {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new PricingError("INVALID_QUANTITY", `${name} must be a whole number of at least ${min}, got ${value}`);
  }
  return BigInt(value);
}

function nonNegativeWei(name: string, wei: bigint): void {
  if (wei < 0n) throw new PricingError("NEGATIVE_AMOUNT", `${name} must be zero or more, got ${wei} wei`);
}

/**
 * Cost in wei of running `gpus` GPUs for `seconds` seconds at `priceWeiPerGpuHour` wei per GPU-hour:
 * floor(priceWeiPerGpuHour × gpus × seconds / 3600). Rounded down, in the client's favour, so the result is at
 * most the exact rational cost and more than it minus 1 wei. Monotone non-decreasing in each argument.
 * Throws INVALID_QUANTITY when gpus or seconds is not a whole number ≥ 0, NEGATIVE_AMOUNT on a negative price.
 */
export function costWei(priceWeiPerGpuHour: bigint, gpus: number, seconds: number): bigint {
  nonNegativeWei("priceWeiPerGpuHour", priceWeiPerGpuHour);
  const g = wholeCount("gpus", gpus, 0);
  const s = wholeCount("seconds", seconds, 0);
  return (priceWeiPerGpuHour * g * s) / SECONDS_PER_HOUR;
}

/**
 * The escrow hold in wei at submit: costWei(maxPriceWeiPerGpuHour, gpus, maxDurationSeconds) × redundancy.
 * Each replica's share is rounded down before it is multiplied, so any replica's real cost (price ≤ cap,
 * seconds ≤ maxDurationSeconds) is at most its share of the hold. Throws as {@link costWei}; INVALID_QUANTITY
 * when redundancy is not a whole number ≥ 1.
 */
export function holdWei(maxPriceWeiPerGpuHour: bigint, gpus: number, maxDurationSeconds: number, redundancy: number): bigint {
  const replicas = wholeCount("redundancy", redundancy, 1);
  return costWei(maxPriceWeiPerGpuHour, gpus, maxDurationSeconds) * replicas;
}

/**
 * `bps` basis points (1 bps = 0.01%) of a non-negative amount: floor(amount × bps / 10000), rounded down (in favour of
 * whoever pays it); never more than the amount for bps ≤ 10000. Throws INVALID_FEE when bps is not a whole number in
 * [0, {@link MAX_FEE_BPS}], NEGATIVE_AMOUNT on a negative amount.
 */
export function bpsOf(amount: bigint, bps: number): bigint {
  nonNegativeWei("amount", amount);
  if (!Number.isInteger(bps) || bps < 0 || bps > MAX_FEE_BPS) {
    throw new PricingError("INVALID_FEE", `basis points must be a whole number from 0 to ${MAX_FEE_BPS}, got ${bps}`);
  }
  return (amount * BigInt(bps)) / BPS_PER_UNIT;
}

/**
 * Fee in wei on `amountWei` at `feeBps` basis points (1 bps = 0.01%): floor(amountWei × feeBps / 10000), rounded
 * down in the payer's favour; never more than amountWei. Throws INVALID_FEE when feeBps is not a whole number in
 * [0, {@link MAX_FEE_BPS}], NEGATIVE_AMOUNT on a negative amount.
 */
export function feeWei(amountWei: bigint, feeBps: number): bigint {
  return bpsOf(amountWei, feeBps);
}
