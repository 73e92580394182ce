import { UploadSlots } from "./upload-slots";

describe("UploadSlots", () => {
  it("cuts off the holder of an upload and waits for it to let go before the next one takes it", async () => {
    const slots = new UploadSlots();
    const order: string[] = [];
    const releaseFirst: () => void = await slots.take("output-1", () => {
      order.push("first cut off");
      releaseFirst();
    });
    const second = slots.take("output-1", () => undefined).then((release) => {
      order.push("second holds it");
      return release;
    });
    (await second)();
    expect(order).toEqual(["first cut off", "second holds it"]);
    expect(slots.busy("output-1")).toBe(false);
  });

  it("keeps uploads apart: one upload's holder is not cut off by another's", async () => {
    const slots = new UploadSlots();
    const cut = jest.fn();
    const a = await slots.take("output-1", cut);
    const b = await slots.take("output-2", () => undefined);
    expect(cut).not.toHaveBeenCalled();
    a();
    b();
  });
});
