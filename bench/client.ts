/** What the benchmarks and the demo share: GraphQL over HTTP, wallet sign-in, the contract's operations, free ports. */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import type { Wallet } from "ethers";
import { Kind, parse, print, type OperationDefinitionNode } from "graphql";

const ROOT = path.resolve(__dirname, "..", "..");


export interface GqlResult {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export async function gql(url: string, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<GqlResult> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  try {
    return { status: res.status, ...(JSON.parse(text) as Omit<GqlResult, "status">) };
  } catch {
    return { status: res.status, errors: [{ message: `not JSON: ${text.slice(0, 200)}` }] };
  }
}

/** The data of a request that must succeed; throws naming the operation otherwise. */
export async function must(url: string, what: string, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<Record<string, unknown>> {
  const r = await gql(url, query, variables, token);
  if (r.status !== 200 || r.errors?.length || !r.data) {
    throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.errors ?? r.data).slice(0, 500)}`);
  }
  return r.data;
}

/** One named operation from the contract's .graphql files, printed on its own. */
export function contractOperation(file: string, name: string): string {
  const doc = parse(readFileSync(path.join(ROOT, "contract", file), "utf8"));
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && d.name?.value === name);
  if (!op) throw new Error(`contract/${file} has no operation ${name}`);
  return print(op);
}

export const REGISTER_NODE = contractOperation("provider.graphql", "RegisterNode");
export const POST_OFFER = contractOperation("provider.graphql", "PostOffer");
export const ORDER_BOOK = contractOperation("market.graphql", "OrderBook");
export const OFFERS = contractOperation("provider.graphql", "Offers");
export const HEARTBEAT = contractOperation("provider.graphql", "Heartbeat");
export const SUBMIT_JOB = contractOperation("jobs.graphql", "SubmitJob");
const AUTH_CHALLENGE = `mutation AuthChallenge($address: String!) { authChallenge(address: $address) { message } }`;
const SIGN_IN = `mutation SignIn($message: String!, $signature: String!) { signIn(message: $message, signature: $signature) { token } }`;

export async function signIn(url: string, wallet: Pick<Wallet, "address" | "signMessage">): Promise<string> {
  const challenge = await must(url, "authChallenge", AUTH_CHALLENGE, { address: wallet.address });
  const message = (challenge.authChallenge as { message: string }).message;
  const signed = await must(url, "signIn", SIGN_IN, { message, signature: await wallet.signMessage(message) });
  return (signed.signIn as { token: string }).token;
}


export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

