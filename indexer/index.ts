export * from "./types";
export * from "./ranges";
export * from "./reorg";
export * from "./follower";
export * from "./health";
export * from "./ledger";
