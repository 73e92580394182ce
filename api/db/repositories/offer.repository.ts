import type { DataSource } from "typeorm";
import { OfferEntity, type OfferStatusValue } from "../entities/offer.entity";

export interface OfferFilterData {
  market?: string;
  minVramGb?: number;
  maxPriceWei?: bigint;
  region?: string;
  /** Defaults to OPEN. */
  status?: OfferStatusValue;
}

export interface OfferPage {
  offers: OfferEntity[];
  cursors: string[];
  hasNextPage: boolean;
  totalCount: () => Promise<number>;
}

/** Opaque cursor of an offer's place in price-then-age order. */
export function offerCursor(o: Pick<OfferEntity, "priceWei" | "ordinal">): string {
  return Buffer.from(`o:${o.priceWei}:${o.ordinal}`).toString("base64url");
}

/** Decodes an offer cursor; undefined when it is not one of ours. */
export function decodeOfferCursor(cursor: string): { priceWei: bigint; ordinal: bigint } | undefined {
  const match = /^o:(\d{1,78}):(\d{1,20})$/.exec(Buffer.from(cursor, "base64url").toString());
  return match ? { priceWei: BigInt(match[1]), ordinal: BigInt(match[2]) } : undefined;
}

/**
 * One page of offers matching a filter, cheapest first then oldest, after a cursor (keyset pagination,
 * index `offers_book_idx`). An OPEN offer past its expiry counts as EXPIRED. totalCount runs only when asked.
 */
export async function listOffers(db: DataSource, filter: OfferFilterData, first: number, after: { priceWei: bigint; ordinal: bigint } | undefined, now: Date): Promise<OfferPage> {
  const base = () => {
    const q = db.getRepository(OfferEntity).createQueryBuilder("o");
    const status = filter.status ?? "OPEN";
    if (status === "OPEN") q.where("o.status = 'OPEN' AND (o.expires_at IS NULL OR o.expires_at > :now)", { now });
    else if (status === "EXPIRED") q.where("(o.status = 'EXPIRED' OR (o.status = 'OPEN' AND o.expires_at <= :now))", { now });
    else q.where("o.status = :status", { status });
    if (filter.market) q.andWhere("o.market = :market", { market: filter.market });
    if (filter.minVramGb !== undefined) q.andWhere("o.vram_gb >= :minVram", { minVram: filter.minVramGb });
    if (filter.maxPriceWei !== undefined) q.andWhere("o.price_wei <= :maxPrice", { maxPrice: filter.maxPriceWei.toString() });
    if (filter.region) q.andWhere("o.region = :region", { region: filter.region });
    return q;
  };
  const page = base();
  if (after) {
    page.andWhere("(o.price_wei, o.ordinal) > (:afterPrice::numeric, :afterOrdinal::bigint)", {
      afterPrice: after.priceWei.toString(),
      afterOrdinal: after.ordinal.toString(),
    });
  }
  const rows = await page.orderBy("o.price_wei", "ASC").addOrderBy("o.ordinal", "ASC").limit(first + 1).getMany();
  const offers = rows.slice(0, first);
  return {
    offers,
    cursors: offers.map(offerCursor),
    hasNextPage: rows.length > first,
    totalCount: () => base().getCount(),
  };
}
