import type { DataSource } from "typeorm";
import { relatedAccounts } from "../db/repositories/related-accounts";
import { explainShortfall, rankCandidates, selectOffers, type Exclusion } from "../../matching";
import { quoteOf, type QuoteResult } from "../../pricing";
import { marketsForRequirements } from "../db/repositories/book.repository";
import { loadCandidates, loadOpenOffers } from "../db/repositories/match.repository";
import { recentWaitSeconds } from "../db/repositories/trade.repository";
import type { ModelCatalog } from "./model-catalog";
import { checkRequirements, knownModelsFor, type RequirementsData } from "./requirements";
import type { MatchingSettings } from "./matching.service";

export interface Quote extends QuoteResult {
  excluded: Exclusion[];
}

/** Recent fills the expected wait is estimated from. */
const WAIT_SAMPLE = 50;

/** What requirements would get now: matching offers, best price, costs, expected wait, and why offers were passed over. */
export class QuoteService {
  constructor(
    private readonly db: DataSource,
    private readonly settings: MatchingSettings,
    private readonly models: ModelCatalog,
  ) {}

  /** With `accountId` (a signed-in caller), its own and related accounts' offers are left out as SELF_TRADE, as its jobs would. */
  async quote(input: RequirementsData, now = new Date(), accountId?: string): Promise<Quote> {
    const selfAccounts = accountId ? (await relatedAccounts(this.db, [accountId])).get(accountId) : undefined;
    const req = { ...checkRequirements(input, await knownModelsFor(this.models, input), false), minStakeWei: this.settings.minStakeWei, selfAccounts };
    const onlineSince = new Date(now.getTime() - this.settings.heartbeatWindowSeconds * 1000);
    const candidates = await loadCandidates(this.db, { ...req, onlineSince, now, limit: this.settings.candidateLimit });
    const ranked = rankCandidates(candidates, req);
    const chosen = selectOffers(ranked, req);
    const markets = await marketsForRequirements(this.db, req.minVramGb, req.gpuModels);
    const waits = chosen.length >= req.redundancy ? [] : await recentWaitSeconds(this.db, markets, WAIT_SAMPLE);
    const open = await loadOpenOffers(this.db, onlineSince, now, req.maxDurationSeconds, this.settings.explainLimit);
    return {
      ...quoteOf({
        chosenPricesWei: chosen.map((c) => c.priceWei),
        matchingOffers: ranked.length,
        gpuCount: req.gpuCount,
        maxDurationSeconds: req.maxDurationSeconds,
        redundancy: req.redundancy,
        maxPriceWei: req.maxPriceWei,
        recentWaitSeconds: waits,
      }),
      excluded: explainShortfall(open, req),
    };
  }
}
