import fc from "fast-check";
import { compareDecimals, decimalToUnits, unitsToDecimal } from "./decimal";

it("reads and writes Decimal strings exactly, in their shortest form", () => {
  expect(decimalToUnits("1.5")).toBe(1_500_000_000_000_000_000n);
  expect(decimalToUnits("0.000000000000000001")).toBe(1n);
  expect(unitsToDecimal(2n * 10n ** 18n)).toBe("2");
  expect(unitsToDecimal(10n ** 12n)).toBe("0.000001");
  for (const bad of ["", "1.", ".5", "-1", "1e3", "1.0000000000000000001", " 1"]) expect(() => decimalToUnits(bad)).toThrow(/not a decimal/);
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n }), (units) => expect(decimalToUnits(unitsToDecimal(units))).toBe(units)));
});

it("compares by value, not as text", () => {
  expect(compareDecimals("10", "9.5")).toBeGreaterThan(0);
  expect(compareDecimals("2.50", "2.5")).toBe(0);
  expect(compareDecimals("0.1", "0.10000000000000001")).toBeLessThan(0);
});
