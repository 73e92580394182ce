/**
 * Feed fan-out (`node dist/bench/feeds.js`, part of `npm run bench`): N concurrent subscribers of orderBookUpdates on
 * one API instance while a provider reprices an offer at a fixed rate (each reprice changes two price levels), beside
 * a bare `ws` broadcast of the same number of messages to N clients in the same run. Delivered messages per second,
 * p99 delivery latency (from the change's request to receipt), server memory. Writes the `feeds` section.
 */
import { spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import WebSocket from "ws";
import { dropDatabase, rssKiB, startMarketplace, waitReady, type Proc } from "./cluster";
import { contractOperation, freePort, must, signIn } from "./client";
import { envInt } from "./env";
import { writeSections } from "./report";

const ROOT = path.resolve(__dirname, "..", "..");
const PG = (process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432").replace(/\/$/, "");
const DB = "gx_bench_feeds";
const settings = {
  sizes: (process.env.BENCH_FEED_SIZES ?? "1000,10000").split(",").map(Number),
  seconds: envInt("BENCH_FEED_SECONDS", 10),
  changesPerSecond: envInt("BENCH_FEED_RATE", 10),
  output: process.env.BENCH_OUTPUT ?? path.join(ROOT, "BENCHMARKS.md"),
};
const say = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number, d = 0) => n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);

interface Result {
  subscribers: number;
  connected: number;
  delivered: number;
  perSecond: number;
  p99Ms: number;
  rssMiB: number;
}

async function openAll(n: number, url: string, onOpen: (ws: WebSocket) => void): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < n; i += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, n - i) }, () =>
        new Promise<void>((resolve) => {
          const ws = new WebSocket(url, url.includes("/graphql") ? "graphql-transport-ws" : undefined);
          ws.on("open", () => {
            onOpen(ws);
            resolve();
          });
          ws.on("error", () => resolve());
          sockets.push(ws);
        }),
      ),
    );
  }
  return sockets;
}

async function main(): Promise<number> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const url = `${base}/graphql`;
  await dropDatabase(PG, DB);
  const market = startMarketplace(port, `${PG}/${DB}`, { RATE_LIMIT_PER_MINUTE: "0", WS_MAX_OPERATIONS_PER_PRINCIPAL: "100000", CHAIN_PORT: String(await freePort()) });
  const procs: Proc[] = [market];
  try {
    await waitReady(base, market);
    const token = await signIn(url, Wallet.createRandom());
    const node = (await must(url, "registerNode", contractOperation("provider.graphql", "RegisterNode"), { input: { name: "feed", region: "eu-central", gpus: [{ model: "NVIDIA L4", vramGb: 24, count: 2 }] } }, token)).registerNode as { id: string };
    const offer = (await must(url, "postOffer", contractOperation("provider.graphql", "PostOffer"), { input: { nodeId: node.id, pricePerGpuHour: "1", gpuCount: 1 } }, token)).postOffer as { id: string };
    const reprice = contractOperation("provider.graphql", "RepriceOffer");
    const results: { size: number; feed: Result; bare: Result }[] = [];
    for (const size of settings.sizes) {
      // -- the marketplace's feed
      const sent = new Map<number, number>();
      const latencies: number[] = [];
      let delivered = 0;
      let base0 = -1;
      const subscribe = (ws: WebSocket) => {
        ws.send(JSON.stringify({ type: "connection_init", payload: {} }));
        ws.on("message", (raw) => {
          const msg = JSON.parse(String(raw));
          if (msg.type === "connection_ack") {
            ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: contractOperation("market.graphql", "OrderBookUpdates"), variables: { market: "L4-24GB" } } }));
          } else if (msg.type === "next") {
            delivered++;
            const seq = Number(msg.payload.data.orderBookUpdates.sequence);
            const at = sent.get(Math.floor((seq - base0 - 1) / 2));
            if (at !== undefined) latencies.push(performance.now() - at);
          }
        });
      };
      say(`bench feeds: ${size} subscribers`);
      const sockets = await openAll(size, url.replace(/^http/, "ws"), subscribe);
      await new Promise((r) => setTimeout(r, 2000));
      const [{ sequence }] = [(await must(url, "orderBook", contractOperation("market.graphql", "OrderBook"), { market: "L4-24GB" })).orderBook as { sequence: string }];
      base0 = Number(sequence);
      const started = performance.now();
      let k = 0;
      let peak = rssKiB(market.child.pid) ?? 0;
      while (performance.now() - started < settings.seconds * 1000) {
        const tick = performance.now();
        sent.set(k, tick);
        await must(url, "reprice", reprice, { id: offer.id, pricePerGpuHour: k % 2 ? "1" : "1.5" }, token);
        k++;
        peak = Math.max(peak, rssKiB(market.child.pid) ?? 0);
        const wait = 1000 / settings.changesPerSecond - (performance.now() - tick);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      await new Promise((r) => setTimeout(r, 2000));
      const elapsed = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      const feed: Result = { subscribers: size, connected: sockets.filter((s) => s.readyState === WebSocket.OPEN).length, delivered, perSecond: delivered / elapsed, p99Ms: pct(latencies, 99), rssMiB: peak / 1024 };
      for (const s of sockets) s.terminate();

      // -- the bare ws broadcast of as many messages
      const bare = spawn(process.execPath, [path.join(ROOT, "dist", "bench", "ws-broadcast.js"), "0"], { stdio: ["pipe", "pipe", "inherit"] });
      const barePort = await new Promise<number>((resolve) => bare.stdout!.once("data", (d) => resolve(Number(/listening (\d+)/.exec(String(d))![1]))));
      const bareLat: number[] = [];
      let bareDelivered = 0;
      const bareSockets = await openAll(size, `ws://127.0.0.1:${barePort}`, (ws) =>
        ws.on("message", (raw) => {
          bareDelivered++;
          bareLat.push(performance.now() - JSON.parse(String(raw)).at);
        }),
      );
      await new Promise((r) => setTimeout(r, 1000));
      const bareStart = performance.now();
      let bareK = 0;
      let barePeak = 0;
      while (performance.now() - bareStart < settings.seconds * 1000) {
        const tick = performance.now();
        for (let j = 0; j < 2; j++) bare.stdin!.write(`${JSON.stringify({ at: tick, market: "L4-24GB", sequence: String(bareK * 2 + j), side: "ASK", price: "1", gpus: 1, orders: 1 })}\n`);
        bareK++;
        barePeak = Math.max(barePeak, rssKiB(bare.pid) ?? 0);
        const wait = 1000 / settings.changesPerSecond - (performance.now() - tick);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      await new Promise((r) => setTimeout(r, 2000));
      const bareElapsed = (performance.now() - bareStart) / 1000;
      bareLat.sort((a, b) => a - b);
      const bareResult: Result = { subscribers: size, connected: bareSockets.filter((s) => s.readyState === WebSocket.OPEN).length, delivered: bareDelivered, perSecond: bareDelivered / bareElapsed, p99Ms: pct(bareLat, 99), rssMiB: barePeak / 1024 };
      for (const s of bareSockets) s.terminate();
      bare.kill();
      results.push({ size, feed, bare: bareResult });
      say(`  ${size}: feed ${fmt(feed.perSecond)} msg/s p99 ${fmt(feed.p99Ms)} ms; bare ${fmt(bareResult.perSecond)} msg/s p99 ${fmt(bareResult.p99Ms)} ms`);
    }
    const rows = results.map(
      (r) =>
        `| ${fmt(r.size)} | ${fmt(r.feed.connected)} | ${fmt(r.feed.perSecond)} | ${fmt(r.feed.p99Ms)} | ${fmt(r.feed.rssMiB)} | ${fmt(r.bare.perSecond)} | ${fmt(r.bare.p99Ms)} | ${fmt((100 * r.feed.perSecond) / r.bare.perSecond, 1)}% |`,
    );
    const big = results.at(-1)!;
    const body = [
      "## Feed fan-out (orderBookUpdates) beside a bare ws broadcast",
      "",
      `Run on ${new Date().toISOString()} by \`npm run bench\` (bench/feeds.ts) on this machine (${os.cpus().length} cores, Node ${process.version}): the marketplace`,
      `(\`dist/api/bin/main.js\`) with N subscribers (raw graphql-transport-ws clients in the bench process), an offer repriced ${settings.changesPerSecond} times a second`,
      `for ${settings.seconds} s (two deltas each: outbox, Redis, EventHub, graphql-ws); then a bare \`ws\` server (bench/ws-broadcast.ts) sending the same number`,
      "of messages to N clients. Latency: from the change's request (or the bare send) to receipt.",
      "",
      "| subscribers | connected | feed msg/s | feed p99 ms | server RSS MiB | bare msg/s | bare p99 ms | feed / bare |",
      "|---:|---:|---:|---:|---:|---:|---:|---:|",
      ...rows,
      "",
      `- >= 50% of the bare broadcast at ${fmt(big.size)}: **${big.feed.perSecond >= big.bare.perSecond / 2 ? "PASS" : "MISS"}**`,
      `- p99 < 200 ms at ${fmt(big.size)}: **${big.feed.p99Ms < 200 ? "PASS" : "MISS"}** (${fmt(big.feed.p99Ms)} ms)`,
      `- ${fmt(big.size)} subscribers held: **${big.feed.connected === big.size ? "PASS" : "MISS"}** (${fmt(big.feed.connected)})`,
    ].join("\n");
    process.stdout.write(`${body}\n`);
    if (settings.output !== "-") writeSections(settings.output, [["feeds", body]]);
    return 0;
  } finally {
    for (const p of procs) await p.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    say(`bench feeds failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
