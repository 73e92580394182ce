import type { DataSource } from "typeorm";
import { AccountService } from "./account.service";
import { ApiKeyService } from "./api-key.service";
import { AuthService, type AuthSettings } from "./auth.service";
import { BookCache } from "./book-cache";
import { MarketService } from "./market.service";
import { NodeService } from "./node.service";
import { OfferService } from "./offer.service";
import { loadBook } from "../db/repositories/book.repository";

export interface ServiceSettings extends AuthSettings {
  heartbeatWindowSeconds: number;
  bookCacheMaxAgeMs: number;
}

/** Every use case of the API, built once per process from its infrastructure. */
export interface Services {
  auth: AuthService;
  apiKeys: ApiKeyService;
  accounts: AccountService;
  nodes: NodeService;
  offers: OfferService;
  markets: MarketService;
  books: BookCache;
}

export function createServices(db: DataSource, settings: ServiceSettings): Services {
  const books = new BookCache((market) => loadBook(db, market), settings.bookCacheMaxAgeMs);
  return {
    auth: new AuthService(db, settings),
    apiKeys: new ApiKeyService(db),
    accounts: new AccountService(db),
    nodes: new NodeService(db, settings.heartbeatWindowSeconds),
    offers: new OfferService(db, (deltas) => deltas.forEach((d) => books.announce(d.market, BigInt(d.sequence)))),
    markets: new MarketService(db, books),
    books,
  };
}

export type { Principal } from "./principal";
