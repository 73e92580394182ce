import { PricingError } from "./errors";
import { formatDecimal, parseDecimal, WEI_PER_UNIT as WEI_PER_OGPU } from "./units";

/**
 * US dollars are counted in micro-dollars (6 decimals) as bigint; an OGPU/USD rate is micro-dollars per whole OGPU.
 * Every conversion below states its rounding, always in the client's favour.
 */

/** The most any one USD amount may be (a price, a credit, a rate, a job's maximum cost): 1,000,000,000 USD, in micro-dollars. */
export const MAX_USD_MICROS = 10n ** 15n;
/** 18-decimal fixed point (wei scale) over 6-decimal micro units. */
const WEI_PER_MICRO = 10n ** 12n;

/**
 * Parses a non-negative decimal string of US dollars ("2.5") into micro-dollars, exactly: more than 6 decimals is
 * TOO_MANY_DECIMALS (not a truncation), more than {@link MAX_USD_MICROS} AMOUNT_TOO_LARGE, anything else that is not a
 * plain decimal INVALID_AMOUNT.
 */
export function parseUsd(text: string): bigint {
  const scaled = parseDecimal(text);
  if (scaled % WEI_PER_MICRO !== 0n) throw new PricingError("TOO_MANY_DECIMALS", `${text.slice(0, 40)} has more than 6 decimals of a dollar`);
  const micros = scaled / WEI_PER_MICRO;
  if (micros > MAX_USD_MICROS) throw new PricingError("AMOUNT_TOO_LARGE", `${text.slice(0, 40)} is more than ${formatUsd(MAX_USD_MICROS)} USD`);
  return micros;
}

/** Micro-dollars as the shortest decimal string of dollars (1_500_000 -> "1.5"). Inverse of {@link parseUsd}. */
export function formatUsd(micros: bigint): string {
  return formatDecimal(micros * WEI_PER_MICRO);
}

function positiveRate(rateMicrosPerOgpu: bigint): void {
  if (rateMicrosPerOgpu <= 0n) throw new PricingError("INVALID_AMOUNT", `an OGPU/USD rate must be more than 0, got ${rateMicrosPerOgpu} micro-dollars`);
}

/**
 * A USD price cap per GPU-hour as wei per GPU-hour at a rate: floor(usdMicros × 10^18 / rate). Rounded down, so
 * the OGPU cap never buys more than the USD cap: {@link usdOfWeiFloor} of the result is at most `usdMicros`.
 */
export function usdCapToWei(usdMicros: bigint, rateMicrosPerOgpu: bigint): bigint {
  positiveRate(rateMicrosPerOgpu);
  if (usdMicros < 0n) throw new PricingError("NEGATIVE_AMOUNT", `a USD amount must be zero or more, got ${usdMicros}`);
  return (usdMicros * WEI_PER_OGPU) / rateMicrosPerOgpu;
}

/** Wei in micro-dollars at a rate, rounded down: floor(wei × rate / 10^18) (what a charge may take). */
export function usdOfWeiFloor(wei: bigint, rateMicrosPerOgpu: bigint): bigint {
  positiveRate(rateMicrosPerOgpu);
  return (wei * rateMicrosPerOgpu) / WEI_PER_OGPU;
}

/** Wei in micro-dollars at a rate, rounded up: ceil(wei × rate / 10^18) (what a hold must cover). */
export function usdOfWeiCeil(wei: bigint, rateMicrosPerOgpu: bigint): bigint {
  positiveRate(rateMicrosPerOgpu);
  return (wei * rateMicrosPerOgpu + WEI_PER_OGPU - 1n) / WEI_PER_OGPU;
}

/**
 * The USD charge of a job that cost `costWei`, at the rate fixed when it was submitted, against its USD hold:
 * min(floor(costWei × rate / 10^18), heldMicros). Never more than the hold.
 */
export function usdCharge(costWei: bigint, rateMicrosPerOgpu: bigint, heldMicros: bigint): bigint {
  const usd = usdOfWeiFloor(costWei, rateMicrosPerOgpu);
  return usd < heldMicros ? usd : heldMicros;
}
