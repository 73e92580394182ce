import type { IncomingMessage } from "node:http";

/**
 * The client's address, the one rule HTTP rate limits and WebSocket limits share: the socket's peer when no proxy
 * is trusted; behind `trustedHops` proxies, the address the outermost trusted proxy saw (X-Forwarded-For read from
 * the right, skipping the hops it added), or the leftmost one when the header holds fewer. Express's
 * `trust proxy` set to the same number of hops gives the same `req.ip`. A client cannot choose its address by
 * sending X-Forwarded-For itself: entries left of the trusted hops are never read.
 */
export function clientAddress(req: Pick<IncomingMessage, "headers" | "socket">, trustedHops: number): string | undefined {
  const peer = req.socket?.remoteAddress;
  if (trustedHops <= 0) return peer;
  const header = req.headers["x-forwarded-for"];
  const forwarded = (Array.isArray(header) ? header.join(",") : (header ?? ""))
    .split(",")
    .map((a) => a.trim())
    .filter((a) => a !== "");
  // nearest first: the peer, then each proxy's view of the one before it
  const hops = [peer, ...forwarded.reverse()];
  return hops[Math.min(trustedHops, hops.length - 1)];
}
