import { QuoteDocument } from "../../generated/graphql";
import type { Context } from "../context";
import { requirementsOf, type RequirementFlags } from "../options";

/** `gx quote`: what a job with these requirements would cost and wait, and why offers were passed over. */
export async function quote(ctx: Context, flags: RequirementFlags): Promise<void> {
  const client = await ctx.client(false);
  const { quote: q } = await client.request(QuoteDocument, { input: requirementsOf(flags) });
  if (ctx.json) return void ctx.io.out(`${JSON.stringify(q)}\n`);
  const lines = [
    `matching offers: ${q.matchingOffers}`,
    `best price:      ${q.bestPricePerGpuHour ?? "-"} OGPU per GPU-hour`,
    `estimated cost:  ${q.estimatedCost ?? "-"} OGPU`,
    `max cost (held): ${q.maxCost ?? "-"} OGPU`,
    `expected wait:   ${q.expectedWaitSeconds === null ? "-" : `${q.expectedWaitSeconds} s`}`,
    ...q.excluded.map((e) => `passed over: ${e.reason} (${e.offers}): ${e.message}`),
  ];
  ctx.io.out(`${lines.join("\n")}\n`);
}
