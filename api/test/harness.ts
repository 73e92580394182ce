import { join } from "node:path";
import { tmpdir } from "node:os";
import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { Wallet } from "ethers";
import { createClient, type Client as WsClient } from "graphql-ws";
import WebSocket from "ws";
import { startSystem, type Roles, type System } from "../bin/system";
import { loadConfig } from "../config";
import type { Clock } from "../services/clock";
import { databaseUrl, TEMPLATE_DB, withAdmin } from "./databases";

let fileDb: Promise<string> | undefined;

/**
 * This test file's database, copied from the migrated template on first use: jest loads this module afresh for each
 * test file, so no file sees another's rows (a worker runs many files; a database per worker mixed their charges).
 */
export function fileDatabaseUrl(): Promise<string> {
  fileDb ??= (async () => {
    const name = `gx_test_f${process.env.JEST_WORKER_ID ?? "0"}_${randomBytes(5).toString("hex")}`;
    await withAdmin((admin) => admin.query(`CREATE DATABASE "${name}" TEMPLATE "${TEMPLATE_DB}"`));
    return databaseUrl(name);
  })();
  return fileDb;
}

/** A port nobody listens on now (the server's own URLs, such as checkpoint uploads, need it before listening). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export interface TestServer {
  system: System;
  url: string;
  wsUrl: string;
  stop(): Promise<void>;
}

/**
 * A whole server on a free port against real Postgres and Redis, with its own queue prefix; with `clock`, its services
 * record time by that clock (a test steps it instead of sleeping).
 */
export async function startTestServer(env: Record<string, string> = {}, roles: Roles = { api: true, worker: true }, clock?: Clock): Promise<TestServer> {
  const port = await freePort();
  const dbUrl = env.DATABASE_URL ?? (await fileDatabaseUrl());
  const config = loadConfig({
    NODE_ENV: "test",
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    DATABASE_URL: dbUrl,
    // servers on one database share its blob store, as instances of one deployment do
    DATA_DIR: join(tmpdir(), "gx-test-data", new URL(dbUrl).pathname.slice(1)),
    REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
    QUEUE_PREFIX: `gxt${randomBytes(4).toString("hex")}`,
    PUBLIC_URL: `http://localhost:${port}`,
    // tests' nodes beat once at set-up: a loaded machine must not make their work look abandoned (failover tests set it)
    FAILOVER_SILENCE_SECONDS: "300",
    ...env,
  });
  const system = await startSystem(config, roles, { clock });
  const url = `http://127.0.0.1:${system.port}/graphql`;
  return { system, url, wsUrl: url.replace(/^http/, "ws"), stop: () => system.stop() };
}

export interface GqlResponse<T = Record<string, unknown>> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** One GraphQL request over HTTP. */
export async function gql<T = Record<string, any>>(url: string, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<GqlResponse<T>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as Omit<GqlResponse<T>, "status">;
  return { status: res.status, ...body };
}

/** The code of the first error, for terse assertions. */
export const codeOf = (r: GqlResponse<unknown>) => r.errors?.[0]?.extensions?.code;

export const AUTH_CHALLENGE = `mutation AuthChallenge($address: String!, $chainId: BigInt) { authChallenge(address: $address, chainId: $chainId) { message nonce expiresAt } }`;
export const SIGN_IN = `mutation SignIn($message: String!, $signature: String!) { signIn(message: $message, signature: $signature) { token address expiresAt } }`;

/** Signs in with a real ethers wallet (EIP-4361 challenge, personal_sign); returns the session token. */
export async function signIn(url: string, wallet = Wallet.createRandom()): Promise<{ token: string; wallet: typeof wallet }> {
  const challenge = await gql(url, AUTH_CHALLENGE, { address: wallet.address });
  const message = challenge.data!.authChallenge.message as string;
  const signed = await gql(url, SIGN_IN, { message, signature: await wallet.signMessage(message) });
  if (!signed.data?.signIn) throw new Error(`sign-in failed: ${JSON.stringify(signed.errors)}`);
  return { token: signed.data.signIn.token as string, wallet };
}

/** A graphql-ws client that does not retry (so close codes are seen). */
export function wsClient(wsUrl: string, authorization?: string): WsClient {
  return createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams: authorization ? { authorization } : {} });
}

/** Runs one operation over WebSocket; resolves with its result or rejects with the close event / errors. */
export function wsRequest(client: WsClient, query: string, variables: Record<string, unknown> = {}): Promise<GqlResponse> {
  return new Promise((resolve, reject) => {
    let result: GqlResponse | undefined;
    client.subscribe(
      { query, variables },
      {
        next: (value) => (result = { status: 0, ...(value as object) }),
        error: (error) => (Array.isArray(error) ? resolve({ status: 0, errors: error }) : reject(error)),
        complete: () => resolve(result ?? { status: 0 }),
      },
    );
  });
}
