/**
 * @gpu-exchange/sdk: a typed client of the gpu-exchange API. Browser-safe: nothing here imports Node; Node's pieces
 * (the `ws` socket, files on disk) are in `@gpu-exchange/sdk/node`.
 */
export * from "./generated/graphql";
export { ExchangeClient, fromCombinedError, operationName, webSocketUrl, type ExchangeClientOptions, type RequestOptions, type SubscriptionObserver } from "./client";
export * from "./errors";
export * from "./auth";
export * from "./decimal";
export * from "./book";
export * from "./book-keeper";
export * from "./job";
export * from "./manifest";
export * from "./upload";
export * from "./order";
