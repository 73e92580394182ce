import { Client, fetchExchange, subscriptionExchange, type AnyVariables, type CombinedError, type Exchange, type OperationContext, type TypedDocumentNode } from "@urql/core";
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";
import { onEnd, pipe, subscribe as subscribeTo } from "wonka";
import type { Auth } from "./auth";
import { codeOfStatus, ExchangeError, fromGraphqlError, toExchangeError, type WireGraphqlError } from "./errors";

/** Options of {@link ExchangeClient}. */
export interface ExchangeClientOptions {
  /** The GraphQL endpoint over HTTP(S), such as `http://localhost:4000/graphql`. */
  url: string;
  /** The WebSocket endpoint; by default `url` with ws(s): (the API serves both on one path). */
  wsUrl?: string;
  /** Credentials: {@link apiKeyAuth}, {@link walletAuth}, or none for the public operations. */
  auth?: Auth;
  /** A fetch of your own (tests, proxies); the global one by default. */
  fetch?: typeof fetch;
  /** A WebSocket class for runtimes without a global one (Node 20: the `ws` package; `@gpu-exchange/sdk/node` passes it). */
  webSocketImpl?: unknown;
  /** urql exchanges to put before the SDK's fetch and subscription exchanges (a cache, a debug exchange). */
  exchanges?: Exchange[];
  /** How often a dropped socket is reconnected before its subscriptions fail (default 30, with randomised backoff). */
  retryAttempts?: number;
}

/** Options of one query or mutation. */
export interface RequestOptions {
  signal?: AbortSignal;
  /** Send no credential (sign-in's own operations). */
  anonymous?: boolean;
}

/** What a subscription calls: each event's data, a fatal error (the subscription is over), or its end. */
export interface SubscriptionObserver<T> {
  next(data: T): void;
  error?(error: ExchangeError): void;
  complete?(): void;
}

/** The WebSocket URL of an HTTP GraphQL endpoint: http -> ws, https -> wss, same host and path. */
export function webSocketUrl(url: string): string {
  const u = new URL(url);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.toString();
}

/** The name of a document's (first) operation. */
export function operationName(document: { definitions: readonly unknown[] }): string {
  for (const def of document.definitions as { kind: string; name?: { value: string } }[]) {
    if (def.kind === "OperationDefinition") return def.name?.value ?? "anonymous";
  }
  return "anonymous";
}

function operationKind(document: { definitions: readonly unknown[] }): string {
  const def = (document.definitions as { kind: string; operation?: string }[]).find((d) => d.kind === "OperationDefinition");
  return def?.operation ?? "query";
}

/** A CombinedError of urql as an {@link ExchangeError}: the first GraphQL error's code, else the network failure's. */
export function fromCombinedError(error: CombinedError, operation: string): ExchangeError {
  const status = (error.response as { status?: number } | undefined)?.status;
  const first = error.graphQLErrors[0];
  if (first) return fromGraphqlError({ message: first.message, extensions: first.extensions as WireGraphqlError["extensions"] }, operation, status);
  if (status !== undefined && (status < 200 || status >= 300)) {
    return new ExchangeError(codeOfStatus(status), `${operation}: the API answered ${status}${error.networkError ? ` (${error.networkError.message})` : ""}`, { status, operation });
  }
  const wrapped = toExchangeError(error.networkError ?? error, operation);
  return new ExchangeError(wrapped.code, `${operation}: ${wrapped.message}`, { operation, cause: error.networkError });
}

/**
 * A client of the gpu-exchange API: urql over HTTP for queries and mutations, graphql-ws for subscriptions, with the
 * contract's typed documents (`./generated/graphql`). Errors come as {@link ExchangeError} with the server's code;
 * with an {@link Auth} that can refresh (a wallet), an UNAUTHENTICATED answer or a socket closed with 4403 signs in
 * again and retries once. Runs in browsers (no Node import); in Node 20 pass `webSocketImpl` or use the `/node` entry.
 */
export class ExchangeClient {
  /** The urql client, for frameworks' bindings; it sends the current credential (without signing in first). */
  readonly urql: Client;
  private wsClient: WsClient | undefined;
  private readonly createWs: () => WsClient;
  readonly url: string;
  readonly auth: Auth | undefined;
  private readonly fetchImpl: typeof fetch;
  /** The credential the API refused on the socket (4403), to renew before reconnecting; null: none refused. */
  private rejectedOnSocket: string | undefined | null = null;
  private sentOnSocket: string | undefined;

  constructor(options: ExchangeClientOptions) {
    this.url = options.url;
    this.auth = options.auth;
    options.auth?.attach?.(this);
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    const auth = options.auth;
    this.createWs = () =>
      createWsClient({
        url: options.wsUrl ?? webSocketUrl(options.url),
        webSocketImpl: options.webSocketImpl,
        lazy: true,
        retryAttempts: options.retryAttempts ?? 30,
        // a refused credential is renewed and the socket opened again at once; other closes back off (1 s, 2 s, ... 30 s, with jitter)
        retryWait: async (retries) => {
          if (this.rejectedOnSocket !== null) return;
          await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** retries, 30_000) + Math.floor(Math.random() * 1000)));
        },
        connectionParams: async () => {
          if (auth && this.rejectedOnSocket !== null) {
            const rejected = this.rejectedOnSocket;
            this.rejectedOnSocket = null;
            await auth.refresh?.(rejected);
          }
          const credential = await auth?.credential();
          this.sentOnSocket = credential;
          return credential ? { authorization: `Bearer ${credential}` } : {};
        },
        shouldRetry: (e) => {
          const code = (e as { code?: unknown } | null)?.code;
          if (code !== 4403 && code !== 4401) return true;
          if (!auth?.refresh) return false;
          this.rejectedOnSocket = this.sentOnSocket;
          return true;
        },
      });
    this.urql = new Client({
      url: options.url,
      fetch: this.fetchImpl,
      preferGetMethod: false,
      requestPolicy: "network-only",
      fetchOptions: (): RequestInit => {
        const credential = auth?.peek();
        return { headers: credential ? { authorization: `Bearer ${credential}` } : {} };
      },
      exchanges: [
        ...(options.exchanges ?? []),
        fetchExchange,
        subscriptionExchange({
          forwardSubscription: (request) => ({
            subscribe: (sink) => ({ unsubscribe: this.ws.subscribe({ ...request, query: request.query ?? "" }, sink) }),
          }),
        }),
      ],
    });
  }

  /** The graphql-ws client carrying the subscriptions, made on first use (HTTP alone needs no WebSocket class). */
  get ws(): WsClient {
    this.wsClient ??= this.createWs();
    return this.wsClient;
  }

  /** The fetch this client uses (also for uploads and downloads of signed URLs). */
  get fetch(): typeof fetch {
    return this.fetchImpl;
  }

  /** Sends a query or mutation of the contract; resolves with its data or throws {@link ExchangeError}. */
  async request<D, V extends AnyVariables>(document: TypedDocumentNode<D, V>, variables: V, options: RequestOptions = {}): Promise<D> {
    const name = operationName(document);
    const mutation = operationKind(document) === "mutation";
    for (let attempt = 0; ; attempt++) {
      const credential = options.anonymous ? undefined : await this.auth?.credential();
      const context: Partial<OperationContext> = {
        requestPolicy: "network-only",
        fetchOptions: { headers: credential ? { authorization: `Bearer ${credential}` } : {}, signal: options.signal },
      };
      const result = await (mutation ? this.urql.mutation(document, variables, context) : this.urql.query(document, variables, context)).toPromise();
      if (result.error) {
        if (options.signal?.aborted) throw new ExchangeError("ABORTED", `${name}: aborted`, { operation: name });
        const error = fromCombinedError(result.error, name);
        if (error.code === "UNAUTHENTICATED" && attempt === 0 && credential !== undefined && this.auth?.refresh && (await this.auth.refresh(credential))) continue;
        throw error;
      }
      if (result.data === undefined || result.data === null) throw new ExchangeError("BAD_RESPONSE", `${name}: the answer has no data`, { operation: name });
      return result.data;
    }
  }

  /**
   * Subscribes to a subscription of the contract. `next` gets each event's data; `error` a fatal error (the
   * subscription is over); `complete` its end when the server ends it. Returns the function that ends it (after which
   * nothing more is called). A dropped socket is reconnected and the subscription sent again, so a feed may repeat
   * what it sends on subscribing (a job's current state, replayed log lines): the SDK's helpers allow for that.
   */
  subscribe<D, V extends AnyVariables>(document: TypedDocumentNode<D, V>, variables: V, observer: SubscriptionObserver<D>): () => void {
    const name = operationName(document);
    let over = false;
    const stop = () => {
      if (over) return;
      over = true;
      subscription.unsubscribe();
    };
    const subscription = pipe(
      this.urql.subscription(document, variables),
      onEnd(() => {
        if (over) return;
        over = true;
        observer.complete?.();
      }),
      subscribeTo((result) => {
        if (over) return;
        if (result.error) {
          over = true;
          observer.error?.(fromCombinedError(result.error, name));
          queueMicrotask(() => subscription.unsubscribe());
        } else if (result.data !== undefined && result.data !== null) {
          observer.next(result.data);
        }
      }),
    );
    return stop;
  }

  /** Closes the socket (subscriptions end). */
  async close(): Promise<void> {
    await this.wsClient?.dispose();
  }
}
