import { registerEnumType } from "type-graphql";

export enum NodeStatus {
  ONLINE = "ONLINE",
  OFFLINE = "OFFLINE",
}
export enum OfferStatus {
  OPEN = "OPEN",
  CANCELLED = "CANCELLED",
  EXPIRED = "EXPIRED",
}
export enum OrderSide {
  ASK = "ASK",
  BID = "BID",
}

registerEnumType(NodeStatus, { name: "NodeStatus", description: "ONLINE while heartbeats arrive within the window, OFFLINE after." });
registerEnumType(OfferStatus, { name: "OfferStatus", description: "Capacity in use shows in availableGpus, not in the status." });
registerEnumType(OrderSide, { name: "OrderSide" });
