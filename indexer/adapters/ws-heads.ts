import WebSocket from "ws";

export interface HeadSubscription {
  stop(): void;
}

/**
 * Calls `onHead` with each new head's number as the node announces it (eth_subscribe newHeads over WebSocket), so
 * a follower reacts to a block at once instead of at its next poll. A dropped or refused connection is opened
 * again after `retryMs` (doubled up to 30 s while it keeps failing); `onError` hears each failure. The follower
 * still polls meanwhile: the subscription only wakes it early.
 */
export function subscribeHeads(url: string, onHead: (number: bigint) => void, onError: (err: Error) => void = () => undefined, retryMs = 1000): HeadSubscription {
  let stopped = false;
  let socket: WebSocket | undefined;
  let timer: NodeJS.Timeout | undefined;
  let delay = retryMs;
  const connect = () => {
    const ws = (socket = new WebSocket(url));
    ws.on("open", () => ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["newHeads"] })));
    ws.on("message", (data) => {
      let message: { id?: number; error?: { message?: string }; method?: string; params?: { result?: { number?: string } } };
      try {
        message = JSON.parse(String(data));
      } catch {
        return;
      }
      if (message.id === 1 && message.error) onError(new Error(`eth_subscribe newHeads: ${message.error.message ?? "refused"}`));
      else if (message.id === 1) delay = retryMs;
      const number = message.method === "eth_subscription" ? message.params?.result?.number : undefined;
      if (number) onHead(BigInt(number));
    });
    ws.on("error", (err) => onError(err));
    ws.on("close", () => {
      if (stopped) return;
      timer = setTimeout(connect, delay);
      timer.unref();
      delay = Math.min(delay * 2, 30_000);
    });
  };
  connect();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      socket?.removeAllListeners("close");
      socket?.on("error", () => undefined);
      socket?.terminate();
    },
  };
}
