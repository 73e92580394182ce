import http from "node:http";
import https from "node:https";
import { gunzipSync } from "node:zlib";
import { FetchRequest, JsonRpcProvider, makeError, Network, type FetchGetUrlFunc, type JsonRpcPayload, type JsonRpcResult } from "ethers";

export interface RpcOptions {
  /** The longest one HTTP round trip may take, connection included, before it is abandoned (default 5,000 ms). */
  timeoutMs?: number;
  /** Further attempts of a read that failed in transport (default 2): writes are never repeated here. */
  retries?: number;
  /** The wait before the first retry, doubled before each next one (default 200 ms). */
  backoffMs?: number;
  /** How often ethers polls for new blocks where it polls (default 1,000 ms). */
  pollingIntervalMs?: number;
}

/** JSON-RPC methods that change nothing on the node: a transport failure may simply be tried again. */
const READS = new Set([
  "eth_blockNumber",
  "eth_chainId",
  "net_version",
  "eth_getBlockByNumber",
  "eth_getBlockByHash",
  "eth_getLogs",
  "eth_call",
  "eth_estimateGas",
  "eth_gasPrice",
  "eth_maxPriorityFeePerGas",
  "eth_feeHistory",
  "eth_getBalance",
  "eth_getCode",
  "eth_getStorageAt",
  "eth_getTransactionCount",
  "eth_getTransactionByHash",
  "eth_getTransactionReceipt",
]);

/**
 * An HTTP transport for ethers' FetchRequest with a hard deadline: the request (connecting, sending, and reading
 * the whole answer) is aborted and its socket destroyed after `timeoutMs`, failing with ethers' TIMEOUT. ethers'
 * own transport only arms an idle timer (5 minutes by default) and leaves the socket open when it fires.
 */
export function boundedGetUrl(timeoutMs: number): FetchGetUrlFunc {
  return (req, signal) =>
    new Promise((resolve, reject) => {
      const abort = new AbortController();
      const timer = setTimeout(() => {
        abort.abort();
        reject(makeError(`no answer from ${req.url} in ${timeoutMs} ms`, "TIMEOUT", { operation: "request.send", reason: "timeout", request: req }));
      }, timeoutMs);
      timer.unref();
      const done = () => clearTimeout(timer);
      signal?.addListener(() => {
        done();
        abort.abort();
        reject(makeError("request cancelled", "CANCELLED"));
      });
      const transport = req.url.startsWith("https:") ? https : http;
      const request = transport.request(req.url, { method: req.method, headers: { ...req.headers }, signal: abort.signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", (err) => (done(), reject(err)));
        res.on("end", () => {
          done();
          let body: Uint8Array = Buffer.concat(chunks);
          if (res.headers["content-encoding"] === "gzip" && body.length > 0) body = gunzipSync(body);
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
          resolve({ statusCode: res.statusCode ?? 0, statusMessage: res.statusMessage ?? "", headers, body: body.length > 0 ? body : null });
        });
      });
      request.on("error", (err) => (done(), reject(err)));
      if (req.body) request.write(Buffer.from(req.body));
      request.end();
    });
}

/** A JsonRpcProvider whose every call is bounded: a deadline per round trip and a bounded, backed-off retry of reads. */
class BoundedJsonRpcProvider extends JsonRpcProvider {
  constructor(
    request: FetchRequest,
    chainId: number | bigint,
    pollingIntervalMs: number,
    private readonly retries: number,
    private readonly backoffMs: number,
  ) {
    super(request, Network.from(chainId), { staticNetwork: true, batchMaxCount: 1, pollingInterval: pollingIntervalMs, cacheTimeout: -1 });
  }

  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const reads = (Array.isArray(payload) ? payload : [payload]).every((p) => READS.has(p.method));
    for (let attempt = 0; ; attempt++) {
      try {
        return await super._send(payload);
      } catch (err) {
        if (!reads || attempt >= this.retries || this.destroyed) throw err;
        await new Promise((r) => setTimeout(r, this.backoffMs * 2 ** attempt).unref());
      }
    }
  }
}

/**
 * A JSON-RPC provider for a chain node that may hang or go away: every HTTP round trip is abandoned after
 * `timeoutMs` (TIMEOUT), a read that failed in transport (timeout, refused, reset, 5xx, 429) is tried `retries`
 * more times after `backoffMs`, 2x, 4x..., and a write (eth_sendRawTransaction) is sent once. ethers' own retries
 * are turned off: FetchRequest otherwise retries a 429 up to 12 times within its 300 s default timeout. The network
 * is static (no eth_chainId detection loop, which ethers retries every second forever while the node is down).
 * Worst case for a read: (retries + 1) x timeoutMs plus the backoff.
 */
export function createRpcProvider(url: string, chainId: number | bigint, options: RpcOptions = {}): JsonRpcProvider {
  const timeoutMs = options.timeoutMs ?? 5000;
  const request = new FetchRequest(url);
  request.timeout = timeoutMs;
  request.setThrottleParams({ maxAttempts: 1 });
  request.getUrlFunc = boundedGetUrl(timeoutMs);
  return new BoundedJsonRpcProvider(request, chainId, options.pollingIntervalMs ?? 1000, options.retries ?? 2, options.backoffMs ?? 200);
}
