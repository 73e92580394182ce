import { parseDecimal } from "../pricing/units";
import type { MyNode } from "./api-types";
import { ApiError } from "./client";
import { FakeApi } from "./fake-api";
import { OfferManager } from "./offer-manager";
import type { PricePolicy } from "./price-policy";
import { captureLogger } from "./test-logger";

const target = { nodeId: "n1", market: "H100-80GB", gpuModel: null, gpuCount: 8 };
const fixed: PricePolicy = { kind: "fixed", priceWei: parseDecimal("2.5") };
const follow: PricePolicy = { kind: "follow", floorWei: parseDecimal("1"), ceilingWei: parseDecimal("3") };

function setup(policy: PricePolicy, offers: MyNode["offers"], suggested: string | null = null) {
  const api = new FakeApi();
  const node: MyNode = { id: "n1", name: "box", offers };
  api.overrides.set("MyNodes", () => ({ myNodes: [{ id: "other", name: "x", offers: [] }, node] }));
  api.overrides.set("SuggestedPrice", () => ({ market: { id: "H100-80GB", suggestedPrice: suggested, utilization: 0.5 } }));
  let posted = 0;
  api.overrides.set("PostOffer", (vars) => {
    const input = vars.input as { pricePerGpuHour: string; gpuCount: number };
    posted += 1;
    node.offers = [{ id: `new-${posted}`, market: "H100-80GB", pricePerGpuHour: input.pricePerGpuHour, availableGpus: input.gpuCount }];
    return { postOffer: { id: `new-${posted}`, market: "H100-80GB", pricePerGpuHour: input.pricePerGpuHour, gpuCount: input.gpuCount, status: "OPEN" } };
  });
  api.overrides.set("RepriceOffer", (vars) => {
    const offer = node.offers.find((o) => o.id === vars.id);
    if (!offer) throw new ApiError("NOT_FOUND", "no offer");
    offer.pricePerGpuHour = String(vars.pricePerGpuHour);
    return { updateOffer: { id: vars.id, pricePerGpuHour: vars.pricePerGpuHour, status: "OPEN" } };
  });
  api.overrides.set("CancelOffer", (vars) => {
    node.offers = node.offers.filter((o) => o.id !== vars.id);
    return { cancelOffer: { id: vars.id, status: "CANCELLED" } };
  });
  const manager = new OfferManager(api, target, policy, captureLogger("silent").logger);
  return { api, node, manager };
}

describe("OfferManager", () => {
  it("posts an offer at the fixed price when the node has none", async () => {
    const { api, manager } = setup(fixed, []);
    await manager.reconcile();
    expect(api.callsOf("PostOffer")).toEqual([{ input: { nodeId: "n1", pricePerGpuHour: "2.5", gpuCount: 8, cancelOnDisconnect: true } }]);
    expect(manager.currentOfferId).toBe("new-1");
    await manager.reconcile();
    expect(api.callsOf("PostOffer")).toHaveLength(1);
    expect(api.callsOf("RepriceOffer")).toHaveLength(0);
  });

  it("names the market as gpuModel when the node has several groups", async () => {
    const { api } = setup(fixed, []);
    const manager = new OfferManager(api, { ...target, gpuModel: "H100-80GB" }, fixed, captureLogger("silent").logger);
    await manager.reconcile();
    expect(api.callsOf("PostOffer")[0]).toEqual({ input: { nodeId: "n1", gpuModel: "H100-80GB", pricePerGpuHour: "2.5", gpuCount: 8, cancelOnDisconnect: true } });
  });

  it("adopts an open offer with the same GPU count and reprices it", async () => {
    const { api, manager } = setup(fixed, [{ id: "old", market: "H100-80GB", pricePerGpuHour: "2", availableGpus: 8 }]);
    await manager.reconcile();
    expect(api.callsOf("PostOffer")).toEqual([]);
    expect(api.callsOf("RepriceOffer")).toEqual([{ id: "old", pricePerGpuHour: "2.5" }]);
    expect(manager.currentOfferId).toBe("old");
  });

  it("cancels an open offer of another size and posts a fresh one", async () => {
    const { api, manager } = setup(fixed, [
      { id: "small", market: "H100-80GB", pricePerGpuHour: "2.5", availableGpus: 4 },
      { id: "elsewhere", market: "RTX4090-24GB", pricePerGpuHour: "1", availableGpus: 1 },
    ]);
    await manager.reconcile();
    expect(api.callsOf("CancelOffer")).toEqual([{ id: "small" }]);
    expect(api.callsOf("PostOffer")).toHaveLength(1);
  });

  it("follows the suggested price within the bounds, with 1% hysteresis", async () => {
    const { api, manager } = setup(follow, [], "2");
    await manager.reconcile();
    expect(api.callsOf("SuggestedPrice")[0]).toEqual({ market: "H100-80GB" });
    expect((api.callsOf("PostOffer")[0].input as { pricePerGpuHour: string }).pricePerGpuHour).toBe("2");
    api.overrides.set("SuggestedPrice", () => ({ market: { id: "H100-80GB", suggestedPrice: "2.01", utilization: 0.5 } }));
    await manager.reconcile();
    expect(api.callsOf("RepriceOffer")).toEqual([]);
    api.overrides.set("SuggestedPrice", () => ({ market: { id: "H100-80GB", suggestedPrice: "9", utilization: 0.5 } }));
    await manager.reconcile();
    expect(api.callsOf("RepriceOffer")).toEqual([{ id: "new-1", pricePerGpuHour: "3" }]);
    api.overrides.set("SuggestedPrice", () => ({ market: null }));
    await manager.reconcile();
    expect(api.callsOf("RepriceOffer").at(-1)).toEqual({ id: "new-1", pricePerGpuHour: "1" });
  });

  it("posts again when its offer is gone, and cancels it on stop", async () => {
    const { api, node, manager } = setup(fixed, []);
    await manager.reconcile();
    node.offers = [];
    await manager.reconcile();
    expect(manager.currentOfferId).toBe("new-2");
    await manager.cancel();
    expect(api.callsOf("CancelOffer")).toEqual([{ id: "new-2" }]);
    expect(manager.currentOfferId).toBeNull();
  });
});
