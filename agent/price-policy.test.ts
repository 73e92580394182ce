import { parseDecimal } from "../pricing/units";
import { nextPrice, type PricePolicy } from "./price-policy";

const wei = parseDecimal;
const follow: PricePolicy = { kind: "follow", floorWei: wei("1"), ceilingWei: wei("3") };

describe("nextPrice", () => {
  it("keeps a fixed price exactly", () => {
    const fixed: PricePolicy = { kind: "fixed", priceWei: wei("2.5") };
    expect(nextPrice(fixed, wei("9"), null)).toBe(wei("2.5"));
    expect(nextPrice(fixed, null, wei("2.5"))).toBeNull();
    expect(nextPrice(fixed, null, wei("2.4999"))).toBe(wei("2.5"));
  });

  it("follows the suggestion inside [floor, ceiling]", () => {
    expect(nextPrice(follow, wei("2"), null)).toBe(wei("2"));
    expect(nextPrice(follow, wei("2.2"), wei("2"))).toBe(wei("2.2"));
  });

  it("clamps to the floor and the ceiling", () => {
    expect(nextPrice(follow, wei("0.5"), wei("2"))).toBe(wei("1"));
    expect(nextPrice(follow, wei("7"), wei("2"))).toBe(wei("3"));
    expect(nextPrice(follow, wei("7"), wei("3"))).toBeNull();
  });

  it("uses the floor without a suggestion", () => {
    expect(nextPrice(follow, null, null)).toBe(wei("1"));
    expect(nextPrice(follow, null, wei("2"))).toBe(wei("1"));
  });

  it("ignores moves under 1% of the current price", () => {
    expect(nextPrice(follow, wei("2.0199"), wei("2"))).toBeNull();
    expect(nextPrice(follow, wei("2.02"), wei("2"))).toBe(wei("2.02"));
    expect(nextPrice(follow, wei("1.9801"), wei("2"))).toBeNull();
    expect(nextPrice(follow, wei("1.98"), wei("2"))).toBe(wei("1.98"));
    expect(nextPrice(follow, wei("2"), wei("2"))).toBeNull();
  });

  it("moves a current price outside the bounds however close", () => {
    expect(nextPrice(follow, wei("3"), wei("3.001"))).toBe(wei("3"));
    expect(nextPrice(follow, null, wei("0.999"))).toBe(wei("1"));
  });
});
