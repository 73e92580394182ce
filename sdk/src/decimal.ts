/** OGPU amounts and prices as the API writes them (`Decimal`: a decimal string, at most 18 fractional digits). */

/** Base units per OGPU (18 decimals). */
export const UNITS_PER_OGPU = 10n ** 18n;

const DECIMAL = /^(\d+)(?:\.(\d{1,18}))?$/;

/** A `Decimal` string as base units (bigint, 18 decimals); throws on anything that is not one. */
export function decimalToUnits(value: string): bigint {
  const m = DECIMAL.exec(value);
  if (!m) throw new Error(`not a decimal amount: ${JSON.stringify(value)}`);
  return BigInt(m[1]) * UNITS_PER_OGPU + BigInt((m[2] ?? "").padEnd(18, "0"));
}

/** Base units as the shortest `Decimal` string ("1.5", "2", "0.000001"). */
export function unitsToDecimal(units: bigint): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const whole = abs / UNITS_PER_OGPU;
  const fraction = (abs % UNITS_PER_OGPU).toString().padStart(18, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
}

/** Compares two `Decimal` strings by value: negative, zero or positive. */
export function compareDecimals(a: string, b: string): number {
  const x = decimalToUnits(a);
  const y = decimalToUnits(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
