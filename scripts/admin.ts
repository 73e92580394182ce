/**
 * `npm run admin -- <command>`: the operator's commands, sent to a running marketplace's admin API with ADMIN_USER and
 * ADMIN_PASSWORD from the environment, at GX_URL (default http://localhost:4000).
 *
 *   usd-credit <address> <usd> [note]   credit an account's prepaid USD balance (the relay)
 *   usd-rate                            the OGPU/USD rate new relay jobs are quoted at, and its source
 *   usd-rate <usdPerOgpu> [source]      feed a rate (it prices relay jobs submitted from now on)
 *   rebatch <batchId>                   a FAILED settlement batch's charges into new batches now, or a batch waiting
 *                                       out a retry sent on the next pass
 */
const USAGE = "usage: npm run admin -- usd-credit <address> <usd> [note] | usd-rate [<usdPerOgpu> [source]] | rebatch <batchId>";

export interface AdminResult {
  code: number;
  output: string;
}

/** Runs one admin command; never throws (a refused or failed call is a non-zero code with the server's message). */
export async function runAdmin(args: string[], env: Record<string, string | undefined>): Promise<AdminResult> {
  const base = (env.GX_URL ?? "http://localhost:4000").replace(/\/$/, "").replace(/\/graphql$/, ""); // the base URL, also when given the GraphQL one
  if (!env.ADMIN_USER || !env.ADMIN_PASSWORD) return { code: 2, output: "set ADMIN_USER and ADMIN_PASSWORD (the server's admin credentials)" };
  const authorization = `Basic ${Buffer.from(`${env.ADMIN_USER}:${env.ADMIN_PASSWORD}`).toString("base64")}`;
  const call = async (method: "GET" | "POST", path: string, body?: unknown): Promise<AdminResult> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { method, headers: { authorization, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      return { code: 1, output: `cannot reach ${base}: ${err instanceof Error ? err.message : String(err)}` };
    }
    const text = await res.text();
    if (res.status === 404) return { code: 1, output: `${base} has no admin API (set ADMIN_USER and ADMIN_PASSWORD on the server)` };
    return { code: res.ok ? 0 : 1, output: text };
  };
  const [command, ...rest] = args;
  if (command === "usd-credit" && (rest.length === 2 || rest.length === 3)) return call("POST", "/admin/usd-credits", { address: rest[0], usd: rest[1], note: rest[2] });
  if (command === "usd-rate" && rest.length === 0) return call("GET", "/admin/usd-rate");
  if (command === "usd-rate" && (rest.length === 1 || rest.length === 2)) return call("POST", "/admin/usd-rate", { usdPerOgpu: rest[0], source: rest[1] });
  if (command === "rebatch" && rest.length === 1) return call("POST", `/admin/settlements/${encodeURIComponent(rest[0])}/rebatch`);
  return { code: 2, output: USAGE };
}

if (require.main === module) {
  void runAdmin(process.argv.slice(2), process.env).then(({ code, output }) => {
    (code === 0 ? process.stdout : process.stderr).write(`${output}\n`);
    process.exit(code);
  });
}
