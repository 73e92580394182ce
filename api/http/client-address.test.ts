import type { AddressInfo } from "node:net";
import express from "express";
import { clientAddress } from "./client-address";

/** What express's req.ip and clientAddress say of one request, with `trust proxy` set to `hops`. */
async function both(hops: number, forwarded: string | undefined): Promise<{ express: string | undefined; ours: string | undefined }> {
  const app = express();
  app.set("trust proxy", hops);
  app.get("/", (req, res) => res.json({ express: req.ip, ours: clientAddress(req, hops) }));
  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { headers: forwarded === undefined ? {} : { "x-forwarded-for": forwarded } });
    return (await res.json()) as { express: string; ours: string };
  } finally {
    server.close();
  }
}

describe("clientAddress", () => {
  it.each([
    [0, undefined, "127.0.0.1"],
    [0, "198.51.100.1", "127.0.0.1"],
    [1, undefined, "127.0.0.1"],
    [1, "198.51.100.1", "198.51.100.1"],
    [1, "203.0.113.5, 198.51.100.1", "198.51.100.1"],
    [2, "203.0.113.5, 198.51.100.1", "203.0.113.5"],
    [2, "198.51.100.1", "198.51.100.1"],
    [3, "a, b , c", "a"],
  ])("with %i trusted hops and X-Forwarded-For %p is %p, as express's req.ip", async (hops, forwarded, expected) => {
    const seen = await both(hops, forwarded);
    expect(seen.ours).toBe(expected);
    expect(seen.express).toBe(expected);
  });
});
