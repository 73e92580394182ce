export * from "./errors";
export * from "./market-id";
export * from "./regions";
