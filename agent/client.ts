import { type Client, createClient } from "graphql-ws";
import type { Logger } from "pino";
import WebSocket from "ws";
import { backoffMs, sleep } from "./backoff";
import type { OperationSource } from "./contract";

/** Variables of a GraphQL operation. */
export type Variables = Record<string, unknown>;

/** What the agent needs from the API: contract operations by name, over HTTP and WebSocket. */
export interface GraphqlClient {
  /** Sends a query or mutation; resolves with `data` or throws {@link ApiError}. `signal` cuts retries short. */
  request<T>(operationName: string, variables?: Variables, options?: { signal?: AbortSignal }): Promise<T>;
  /** Subscribes; `onData` gets each event's `data`, `onError` a fatal error. Returns the unsubscribe function. */
  subscribe<T>(operationName: string, variables: Variables, onData: (data: T) => void, onError?: (err: ApiError) => void): () => void;
  /** Closes the WebSocket, if one was opened. */
  close(): Promise<void>;
}

/**
 * An error answered by the API (`code` is its `extensions.code`: UNAUTHENTICATED, FORBIDDEN, CONFLICT, ...) or
 * met on the way: NETWORK_ERROR (unreachable after retries), HTTP_ERROR (a status without GraphQL errors),
 * BAD_RESPONSE (not a GraphQL response).
 */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Codes that mean the assignment is no longer this node's to run. */
const LOST_CODES = new Set(["CONFLICT", "FORBIDDEN", "NOT_FOUND"]);

/** True when the API said the assignment was taken away (CONFLICT, FORBIDDEN, NOT_FOUND). */
export function isLostError(err: unknown): boolean {
  return err instanceof ApiError && LOST_CODES.has(err.code);
}

/** Codes of answers that may go another way later: the API or a dependency (the store) is down or overloaded. */
const PASSING_CODES = new Set(["UNAVAILABLE", "NETWORK_ERROR", "HTTP_ERROR", "BAD_RESPONSE", "RATE_LIMITED", "INTERNAL_SERVER_ERROR"]);

/** True for failures worth retrying later: not an ApiError at all, or one with a passing code (UNAVAILABLE, NETWORK_ERROR, ...). */
export function isPassingError(err: unknown): boolean {
  return !(err instanceof ApiError) || PASSING_CODES.has(err.code);
}

/** True for errors no retry can fix: the key is bad or lacks rights. */
export function isAuthError(err: unknown): boolean {
  return err instanceof ApiError && err.code === "UNAUTHENTICATED";
}

/** Options of {@link createGraphqlClient}. */
export interface GraphqlClientOptions {
  apiUrl: string;
  apiKey: string;
  operations: OperationSource;
  logger: Logger;
  fetch?: typeof fetch;
  /** Attempts for network errors and 5xx answers (default 5). */
  maxAttempts?: number;
  /** First retry delay in ms, doubled each time up to 10 s (default 500). */
  retryBaseMs?: number;
  /** Per-attempt timeout in ms (default 30 s). */
  timeoutMs?: number;
}

interface GraphqlResponse {
  data?: unknown;
  errors?: { message?: string; extensions?: { code?: unknown } }[];
}

/** The WebSocket URL of an HTTP GraphQL endpoint: http -> ws, https -> wss, same host and path. */
export function webSocketUrl(apiUrl: string): string {
  const url = new URL(apiUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

/** A {@link GraphqlClient} that authenticates with `Authorization: Bearer <apiKey>`. */
export function createGraphqlClient(options: GraphqlClientOptions): GraphqlClient {
  const fetchImpl = options.fetch ?? fetch;
  const maxAttempts = options.maxAttempts ?? 5;
  const retryBaseMs = options.retryBaseMs ?? 500;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const authorization = `Bearer ${options.apiKey}`;
  let ws: Client | undefined;
  const closing = new AbortController();

  async function attempt(operationName: string, query: string, variables: Variables, signal?: AbortSignal): Promise<{ retry: boolean; error?: ApiError; data?: unknown }> {
    let response: Response;
    let text: string;
    try {
      response = await fetchImpl(options.apiUrl, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/graphql-response+json, application/json", authorization },
        body: JSON.stringify({ query, operationName, variables }),
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      return { retry: true, error: new ApiError("NETWORK_ERROR", `cannot reach ${options.apiUrl}: ${errorText(err)}`) };
    }
    let body: GraphqlResponse | undefined;
    try {
      body = JSON.parse(text) as GraphqlResponse;
    } catch {
      body = undefined;
    }
    const first = body?.errors?.[0];
    const code = typeof first?.extensions?.code === "string" ? first.extensions.code : undefined;
    if (response.status >= 500 && (code === undefined || code === "INTERNAL_SERVER_ERROR")) {
      return { retry: true, error: new ApiError(code ?? "HTTP_ERROR", `${operationName}: the API answered ${response.status}${first?.message ? `: ${first.message}` : ""}`, response.status) };
    }
    if (first) return { retry: false, error: new ApiError(code ?? codeOfStatus(response.status), `${operationName}: ${first.message ?? "error"}`, response.status) };
    if (!response.ok) return { retry: false, error: new ApiError(codeOfStatus(response.status), `${operationName}: the API answered ${response.status}`, response.status) };
    if (!body || body.data === undefined || body.data === null) {
      return { retry: false, error: new ApiError("BAD_RESPONSE", `${operationName}: the answer is not a GraphQL response`, response.status) };
    }
    return { retry: false, data: body.data };
  }

  return {
    async request<T>(operationName: string, variables: Variables = {}, requestOptions: { signal?: AbortSignal } = {}): Promise<T> {
      const op = options.operations(operationName);
      const { signal } = requestOptions;
      let lastError: ApiError | undefined;
      for (let i = 0; i < maxAttempts; i++) {
        if (i > 0) await sleep(backoffMs(i - 1, retryBaseMs, 10_000), signal);
        const outcome = await attempt(operationName, op.text, variables, signal);
        if (outcome.error === undefined) return outcome.data as T;
        lastError = outcome.error;
        if (!outcome.retry || signal?.aborted) throw outcome.error;
        options.logger.debug({ op: operationName, attempt: i + 1, err: outcome.error.message }, "API request failed; retrying");
      }
      throw lastError ?? new ApiError("NETWORK_ERROR", `${operationName}: no attempt made`);
    },

    subscribe<T>(operationName: string, variables: Variables, onData: (data: T) => void, onError?: (err: ApiError) => void): () => void {
      const op = options.operations(operationName);
      if (closing.signal.aborted) throw new ApiError("CLOSED", `${operationName}: the client is closed`);
      ws ??= createClient({
        url: webSocketUrl(options.apiUrl),
        webSocketImpl: WebSocket,
        connectionParams: { authorization },
        lazy: true,
        retryAttempts: Infinity,
        shouldRetry: (e) => !isForbiddenClose(e),
        retryWait: (retries) => sleep(backoffMs(retries, 1000, 30_000), closing.signal),
        on: {
          connected: () => options.logger.debug("subscription socket connected"),
          closed: (e) => options.logger.debug({ code: (e as { code?: number })?.code }, "subscription socket closed"),
        },
      });
      return ws.subscribe<T>(
        { query: op.text, operationName, variables },
        {
          next: (message) => {
            if (message.errors?.length) {
              const first = message.errors[0];
              const code = typeof first.extensions?.code === "string" ? first.extensions.code : "GRAPHQL_ERROR";
              onError?.(new ApiError(code, `${operationName}: ${first.message}`));
            } else if (message.data) {
              onData(message.data as T);
            }
          },
          error: (e) => onError?.(subscriptionError(operationName, e)),
          complete: () => options.logger.debug({ op: operationName }, "subscription completed"),
        },
      );
    },

    async close(): Promise<void> {
      const socket = ws;
      ws = undefined;
      closing.abort();
      try {
        await socket?.dispose();
      } catch (err) {
        options.logger.debug({ err: errorText(err) }, "closing the subscription socket failed");
      }
    },
  };
}

function isForbiddenClose(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === 4403;
}

function subscriptionError(operationName: string, e: unknown): ApiError {
  const code = typeof e === "object" && e !== null ? (e as { code?: unknown }).code : undefined;
  if (code === 4403 || code === 4401) return new ApiError("UNAUTHENTICATED", `${operationName}: the API refused the key (WebSocket close ${code})`);
  if (Array.isArray(e) && e.length > 0) return new ApiError(String(e[0]?.extensions?.code ?? "GRAPHQL_ERROR"), `${operationName}: ${e[0]?.message}`);
  return new ApiError("NETWORK_ERROR", `${operationName}: ${errorText(e)}`);
}

function codeOfStatus(status: number): string {
  if (status === 401) return "UNAUTHENTICATED";
  if (status === 403) return "FORBIDDEN";
  if (status === 404) return "NOT_FOUND";
  if (status === 409) return "CONFLICT";
  if (status === 429) return "RATE_LIMITED";
  if (status === 400) return "BAD_REQUEST";
  return "HTTP_ERROR";
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.cause instanceof Error ? `${err.message} (${err.cause.message})` : err.message;
  if (typeof err === "object" && err !== null && "reason" in err) return `closed: ${String((err as { reason: unknown }).reason)}`;
  return String(err);
}
