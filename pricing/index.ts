export * from "./errors";
export * from "./units";
export * from "./order-book";
export * from "./cost";
export * from "./reference";
export * from "./candles";
export * from "./suggested-price";
export * from "./quote";
