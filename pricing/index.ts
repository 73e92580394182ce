// The names other folders use of pricing/ (each module exports more for its own tests): import from here.
export { PRICING_ERROR_CODES, PricingError, type PricingErrorCode } from "./errors";
export { formatDecimal, MAX_PRICE_WEI, parseDecimal } from "./units";
export { compareBigint } from "./order-book";
export { bpsOf, costWei, feeWei, holdWei } from "./cost";
export type { TradePoint } from "./reference";
export { buildCandles, type Candle, CANDLE_INTERVAL_MS, type CandleInterval } from "./candles";
export { suggestPrice } from "./suggested-price";
export { quoteOf, type QuoteResult } from "./quote";
export { formatUsd, MAX_USD_MICROS, parseUsd, usdCapToWei, usdCharge, usdOfWeiCeil, usdOfWeiFloor } from "./usd";
export { type AccountAddress, relatedGroups } from "./parties";
export { isArmsLength, lastArmsLengthPriceWei, type PartyTrade, robustReferenceWei } from "./robust-reference";
export { demandGpus, type RestingBid } from "./demand";
