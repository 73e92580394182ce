import fc from "fast-check";
import { formatDecimal, MAX_WEI, parseDecimal, WEI_PER_UNIT } from "./units";
import { PricingError } from "./errors";

describe("parseDecimal / formatDecimal", () => {
  it.each([
    ["1.5", 15n * 10n ** 17n],
    ["2", 2n * WEI_PER_UNIT],
    ["0.000001", 10n ** 12n],
    ["0", 0n],
    ["0.000000000000000001", 1n],
    ["007.50", 75n * 10n ** 17n],
  ])("parses %s", (text, wei) => {
    expect(parseDecimal(text)).toBe(wei);
  });

  it.each([
    ["", "INVALID_AMOUNT"],
    ["-1", "NEGATIVE_AMOUNT"],
    ["1e18", "INVALID_AMOUNT"],
    ["1.", "INVALID_AMOUNT"],
    [".5", "INVALID_AMOUNT"],
    [" 1", "INVALID_AMOUNT"],
    ["1,5", "INVALID_AMOUNT"],
    ["abc", "INVALID_AMOUNT"],
    ["0.0000000000000000001", "TOO_MANY_DECIMALS"],
    ["1" + "0".repeat(80), "AMOUNT_TOO_LARGE"],
  ])("rejects %j with %s", (text, code) => {
    expect(() => parseDecimal(text)).toThrow(PricingError);
    try {
      parseDecimal(text);
    } catch (e) {
      expect((e as PricingError).code).toBe(code);
    }
  });

  it("formats in the shortest form", () => {
    expect(formatDecimal(WEI_PER_UNIT)).toBe("1");
    expect(formatDecimal(15n * 10n ** 17n)).toBe("1.5");
    expect(formatDecimal(1n)).toBe("0.000000000000000001");
    expect(formatDecimal(0n)).toBe("0");
  });

  it("round-trips every amount exactly", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_WEI }), (wei) => {
        expect(parseDecimal(formatDecimal(wei))).toBe(wei);
      }),
    );
  });
});
