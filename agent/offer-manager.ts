import type { Logger } from "pino";
import { formatDecimal, parseDecimal } from "../pricing/units";
import type { MyNode, NodeOffer, PostedOffer } from "./api-types";
import { type GraphqlClient, isLostError } from "./client";
import { errorText } from "./error-text";
import { nextPrice, type PricePolicy } from "./price-policy";

/** The offer the agent keeps open. */
export interface OfferTarget {
  nodeId: string;
  /** Market id of the offered group, e.g. H100-80GB. */
  market: string;
  /** Sent as PostOfferInput.gpuModel (the market id) when the node has several GPU groups; else left out. */
  gpuModel: string | null;
  gpuCount: number;
}

/**
 * Keeps exactly one open offer of the node in its market, priced by the policy. Each {@link reconcile}: reads
 * MyNodes; keeps the offer it posted if still open, or adopts an open one whose available GPUs equal the
 * wanted count (after a restart), cancelling other open offers of the node in that market; posts one when
 * none is left; then reprices it with {@link nextPrice} (asking SuggestedPrice when following the market).
 */
export class OfferManager {
  private offerId: string | null = null;
  private market: string;

  constructor(
    private readonly client: GraphqlClient,
    private readonly target: OfferTarget,
    private readonly policy: PricePolicy,
    private readonly logger: Logger,
  ) {
    this.market = target.market;
  }

  /** The id of the offer being kept, once there is one. */
  get currentOfferId(): string | null {
    return this.offerId;
  }

  /** Brings the node's offer in line with the target and the price policy. */
  async reconcile(): Promise<void> {
    const data = await this.client.request<{ myNodes: MyNode[] }>("MyNodes");
    const node = data.myNodes.find((n) => n.id === this.target.nodeId);
    if (!node) {
      this.logger.warn({ nodeId: this.target.nodeId }, "MyNodes does not list this node; the offer is left alone");
      return;
    }
    const open = node.offers.filter((o) => o.market === this.market);
    const keep =
      open.find((o) => o.id === this.offerId) ?? (this.offerId === null ? open.find((o) => o.availableGpus === this.target.gpuCount) : undefined) ?? null;
    for (const extra of open.filter((o) => o !== keep)) await this.cancelOffer(extra.id, "an extra open offer of this node");
    const suggestedWei = await this.suggestedPrice();
    if (!keep) {
      await this.post(nextPrice(this.policy, suggestedWei, null) as bigint);
      return;
    }
    if (this.offerId !== keep.id) this.logger.info({ offerId: keep.id }, "reusing the node's open offer");
    this.offerId = keep.id;
    await this.reprice(keep, suggestedWei);
  }

  /** Cancels the kept offer so no new work is matched to this node. */
  async cancel(): Promise<void> {
    if (this.offerId === null) return;
    await this.cancelOffer(this.offerId, "the agent is stopping");
    this.offerId = null;
  }

  private async suggestedPrice(): Promise<bigint | null> {
    if (this.policy.kind === "fixed") return null;
    try {
      const data = await this.client.request<{ market: { suggestedPrice: string | null } | null }>("SuggestedPrice", { market: this.market });
      const text = data.market?.suggestedPrice;
      return text ? parseDecimal(text) : null;
    } catch (err) {
      this.logger.warn({ err: errorText(err), market: this.market }, "could not read the suggested price; using the floor");
      return null;
    }
  }

  private async post(priceWei: bigint): Promise<void> {
    // cancel on disconnect: while this agent is silent (killed, network lost) its offer is off the book, not a lie on it
    const input: Record<string, unknown> = { nodeId: this.target.nodeId, pricePerGpuHour: formatDecimal(priceWei), gpuCount: this.target.gpuCount, cancelOnDisconnect: true };
    if (this.target.gpuModel) input.gpuModel = this.target.gpuModel;
    const data = await this.client.request<PostedOffer>("PostOffer", { input });
    this.offerId = data.postOffer.id;
    this.market = data.postOffer.market;
    this.logger.info({ offerId: this.offerId, market: this.market, price: data.postOffer.pricePerGpuHour, gpuCount: data.postOffer.gpuCount }, "offer posted");
  }

  private async reprice(offer: NodeOffer, suggestedWei: bigint | null): Promise<void> {
    const next = nextPrice(this.policy, suggestedWei, parseDecimal(offer.pricePerGpuHour));
    if (next === null) return;
    try {
      await this.client.request("RepriceOffer", { id: offer.id, pricePerGpuHour: formatDecimal(next) });
      this.logger.info({ offerId: offer.id, from: offer.pricePerGpuHour, to: formatDecimal(next) }, "offer repriced");
    } catch (err) {
      if (!isLostError(err)) throw err;
      this.logger.warn({ offerId: offer.id, err: errorText(err) }, "offer could not be repriced; posting a new one");
      this.offerId = null;
      await this.post(next);
    }
  }

  private async cancelOffer(id: string, why: string): Promise<void> {
    try {
      await this.client.request("CancelOffer", { id });
      this.logger.info({ offerId: id, why }, "offer cancelled");
    } catch (err) {
      this.logger.warn({ offerId: id, err: errorText(err) }, "could not cancel an offer");
    }
  }
}
