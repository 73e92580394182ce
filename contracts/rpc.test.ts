import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { createRpcProvider } from "./rpc";

/** A TCP server that accepts connections and reads requests, answering only when `answer` says so. */
async function server(answer: (n: number) => boolean): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const sockets = new Set<Socket>();
  const s: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("data", (chunk) => {
      const text = chunk.toString();
      if (!text.includes("jsonrpc")) return;
      const n = requests++;
      if (!answer(n)) return;
      const id = /"id":(\d+)/.exec(text)?.[1] ?? "1";
      const body = JSON.stringify({ jsonrpc: "2.0", id: Number(id), result: "0x2a" });
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    });
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((r) => s.close(() => r()));
    },
  };
}

describe("createRpcProvider", () => {
  it("abandons a call to a node that accepts and never answers within its timeout and bounded retries", async () => {
    const hung = await server(() => false);
    const provider = createRpcProvider(hung.url, 31337, { timeoutMs: 200, retries: 2, backoffMs: 10 });
    const started = performance.now();
    await expect(provider.getBlockNumber()).rejects.toMatchObject({ code: "TIMEOUT" });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(2000);
    expect(hung.requests()).toBe(3);
    provider.destroy();
    await hung.close();
  });

  it("retries a read that hung once and gets the answer", async () => {
    const flaky = await server((n) => n > 0);
    const provider = createRpcProvider(flaky.url, 31337, { timeoutMs: 200, retries: 2, backoffMs: 10 });
    expect(await provider.getBlockNumber()).toBe(42);
    provider.destroy();
    await flaky.close();
  });

  it("sends a write once: a transaction is never broadcast twice by the transport", async () => {
    const hung = await server(() => false);
    const provider = createRpcProvider(hung.url, 31337, { timeoutMs: 200, retries: 3, backoffMs: 10 });
    await expect(provider.send("eth_sendRawTransaction", ["0x00"])).rejects.toMatchObject({ code: "TIMEOUT" });
    expect(hung.requests()).toBe(1);
    provider.destroy();
    await hung.close();
  });
});
