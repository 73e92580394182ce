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
import { dropDatabase, marketplaceEnv, rssKiB, spawnNode, waitReady, type Proc } from "./cluster";
import { contractOperation, freePort, must, signIn } from "./client";
import { envInt } from "./env";
import { fmt, writeSections } from "./report";

const ROOT = path.resolve(__dirname, "..", "..");
const PG = (process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432").replace(/\/$/, "");
const DB = "gx_bench_feeds";
const settings = {
  sizes: (process.env.BENCH_FEED_SIZES ?? "1000,10000").split(",").map(Number),
  seconds: envInt("BENCH_FEED_SECONDS", 10),
  // offer changes a second (two deltas each): the first is the fixed rate the targets are judged at, the others show saturation
  rates: (process.env.BENCH_FEED_RATES ?? "2,10").split(",").map(Number),
  output: process.env.BENCH_OUTPUT ?? path.join(ROOT, "BENCHMARKS.md"),
};
const say = (line: string) => process.stderr.write(`${line}\n`);
const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);

interface Result {
  subscribers: number;
  rate: number;
  connected: number;
  delivered: number;
  perSecond: number;
  p99Ms: number;
  rssMiB: number;
  /** Server RSS before the subscribers connected (the feed side only). */
  idleMiB?: number;
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
  // the production layout: the API instance that serves the subscribers, and a worker (outbox relay, matching)
  const env = marketplaceEnv(port, `${PG}/${DB}`, { NODE_ENV: "production", RATE_LIMIT_PER_MINUTE: "0", WS_MAX_OPERATIONS_PER_PRINCIPAL: "100000", WS_MAX_CONNECTIONS_PER_ADDRESS: "1000000" });
  const market = spawnNode("api", "api/bin/api.js", [], env);
  const procs: Proc[] = [market];
  let beating: NodeJS.Timeout | undefined;
  try {
    await waitReady(base, market);
    procs.push(spawnNode("worker", "api/bin/worker.js", [], env));
    const token = await signIn(url, Wallet.createRandom());
    const node = (await must(url, "registerNode", contractOperation("provider.graphql", "RegisterNode"), { input: { name: "feed", region: "eu-central", gpus: [{ model: "NVIDIA L4", vramGb: 24, count: 2 }] } }, token)).registerNode as { id: string };
    const offer = (await must(url, "postOffer", contractOperation("provider.graphql", "PostOffer"), { input: { nodeId: node.id, pricePerGpuHour: "1", gpuCount: 1 } }, token)).postOffer as { id: string };
    const reprice = contractOperation("provider.graphql", "RepriceOffer");
    let lastPrice = "1";
    let tickSeq = 0;
    // the node stays online for the whole run (its heartbeat window is 60 s)
    const heartbeat = contractOperation("provider.graphql", "Heartbeat");
    beating = setInterval(() => void must(url, "heartbeat", heartbeat, { nodeId: node.id }, token).catch(() => undefined), 10_000);
    const results: { size: number; rate: number; feed: Result; bare: Result }[] = [];
    for (const size of settings.sizes)
      for (const rate of settings.rates) {
      // -- the marketplace's feed
      // when each level change was asked for: a tick adds the level at its new (unique) price and removes the old one
      const sent = new Map<string, number>();
      const latencies: number[] = [];
      let delivered = 0;
      const subscribe = (ws: WebSocket) => {
        ws.send(JSON.stringify({ type: "connection_init", payload: {} }));
        ws.on("message", (raw) => {
          // the delta is read with regexes, not JSON.parse, on both sides, so the client costs as little as it can
          const text = String(raw);
          const priceMatch = /"price":"([^"]+)"/.exec(text);
          if (!priceMatch && text.includes('"connection_ack"')) {
            ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: contractOperation("market.graphql", "OrderBookUpdates"), variables: { market: "L4-24GB" } } }));
          } else if (priceMatch) {
            delivered++;
            const at = sent.get(`${/"gpus":0[,}]/.test(text) ? "out" : "in"}:${priceMatch[1]}`);
            if (at !== undefined) latencies.push(performance.now() - at);
          }
        });
      };
      say(`bench feeds: ${size} subscribers, ${rate} changes/s`);
      const idleKiB = rssKiB(market.child.pid) ?? 0;
      const sockets = await openAll(size, url.replace(/^http/, "ws"), subscribe);
      await new Promise((r) => setTimeout(r, 2000));
      const started = performance.now();
      let peak = rssKiB(market.child.pid) ?? 0;
      while (performance.now() - started < settings.seconds * 1000) {
        const tick = performance.now();
        const price = String(1000 + (tickSeq++ % 100_000));
        sent.set(`in:${price}`, tick);
        sent.set(`out:${lastPrice}`, tick);
        await must(url, "reprice", reprice, { id: offer.id, pricePerGpuHour: price }, token);
        lastPrice = price;
        peak = Math.max(peak, rssKiB(market.child.pid) ?? 0);
        const wait = 1000 / rate - (performance.now() - tick);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      await new Promise((r) => setTimeout(r, 2000));
      const elapsed = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      const feed: Result = { subscribers: size, rate, connected: sockets.filter((s) => s.readyState === WebSocket.OPEN).length, delivered, perSecond: delivered / elapsed, p99Ms: pct(latencies, 99), rssMiB: peak / 1024, idleMiB: idleKiB / 1024 };
      for (const s of sockets) s.terminate();

      // -- the bare ws broadcast of as many messages
      const bare = spawn(process.execPath, [path.join(ROOT, "dist", "bench", "ws-broadcast.js"), "0"], { stdio: ["pipe", "pipe", "inherit"] });
      const barePort = await new Promise<number>((resolve) => bare.stdout!.once("data", (d) => resolve(Number(/listening (\d+)/.exec(String(d))![1]))));
      const bareLat: number[] = [];
      let bareDelivered = 0;
      const bareSockets = await openAll(size, `ws://127.0.0.1:${barePort}`, (ws) =>
        ws.on("message", (raw) => {
          bareDelivered++;
          bareLat.push(performance.now() - Number(/"at":([\d.]+)/.exec(String(raw))![1]));
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
        const wait = 1000 / rate - (performance.now() - tick);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      await new Promise((r) => setTimeout(r, 2000));
      const bareElapsed = (performance.now() - bareStart) / 1000;
      bareLat.sort((a, b) => a - b);
      const bareResult: Result = { subscribers: size, rate, connected: bareSockets.filter((s) => s.readyState === WebSocket.OPEN).length, delivered: bareDelivered, perSecond: bareDelivered / bareElapsed, p99Ms: pct(bareLat, 99), rssMiB: barePeak / 1024 };
      for (const s of bareSockets) s.terminate();
      bare.kill();
      results.push({ size, rate, feed, bare: bareResult });
      say(`  ${size} at ${rate}/s: feed ${fmt(feed.perSecond)} msg/s p50 ${fmt(pct(latencies, 50))} p90 ${fmt(pct(latencies, 90))} p99 ${fmt(feed.p99Ms)} max ${fmt(latencies.at(-1) ?? NaN)} ms; bare p50 ${fmt(pct(bareLat, 50))} bare ${fmt(bareResult.perSecond)} msg/s p99 ${fmt(bareResult.p99Ms)} ms`);
    }
    const rows = results.map(
      (r) =>
        `| ${fmt(r.size)} | ${r.rate} | ${fmt(r.size * r.rate * 2)} | ${fmt(r.feed.connected)} | ${fmt(r.feed.perSecond)} | ${fmt(r.feed.p99Ms)} | ${fmt(r.feed.idleMiB!)} → ${fmt(r.feed.rssMiB)} | ${fmt(r.bare.perSecond)} | ${fmt(r.bare.p99Ms)} | ${fmt(r.bare.rssMiB)} | ${fmt((100 * r.feed.perSecond) / r.bare.perSecond, 1)}% |`,
    );
    const judged = results.find((r) => r.size === Math.max(...settings.sizes) && r.rate === settings.rates[0])!;
    const body = [
      "## Feed fan-out (orderBookUpdates) beside a bare ws broadcast",
      "",
      `Run on ${new Date().toISOString()} by \`npm run bench\` (bench/feeds.ts) on this machine (${os.cpus().length} cores, Node ${process.version}): the marketplace`,
      `(\`dist/api/bin/api.js\`, one instance, beside \`worker.js\`) with N subscribers (raw graphql-transport-ws clients in the bench`,
      `process), an offer repriced R times a second for ${settings.seconds} s (two deltas each: outbox, Redis, EventHub, one shared execution, the`,
      "same frame to every socket); then a bare `ws` server (bench/ws-broadcast.ts) sending the same number of messages to N clients.",
      "Latency: from the change's request (or the bare send) to receipt. The targets are judged at the largest N and the first",
      "rate; the higher rate is past what the bench's one client process can receive on this machine (see the bare p99).",
      "",
      "| subscribers | changes/s | offered msg/s | connected | feed msg/s | feed p99 ms | server RSS MiB (before → peak) | bare msg/s | bare p99 ms | bare RSS MiB | feed / bare |",
      "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
      ...rows,
      "",
      `- >= 50% of the bare broadcast at ${fmt(judged.size)}, ${judged.rate} changes/s: **${judged.feed.perSecond >= judged.bare.perSecond / 2 ? "PASS" : "MISS"}**`,
      `- p99 < 200 ms at ${fmt(judged.size)}, ${judged.rate} changes/s: **${judged.feed.p99Ms < 200 ? "PASS" : "MISS"}** (${fmt(judged.feed.p99Ms)} ms)`,
      `- ${fmt(judged.size)} subscribers held: **${judged.feed.connected === judged.size ? "PASS" : "MISS"}** (${fmt(judged.feed.connected)})`,
    ].join("\n");
    process.stdout.write(`${body}\n`);
    if (settings.output !== "-") writeSections(settings.output, [["feeds", body]]);
    return 0;
  } finally {
    clearInterval(beating);
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
