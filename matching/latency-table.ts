import { estimateLatencyMs, regionById, REGIONS } from "./regions";

const INDEX_BY_ID = new Map(REGIONS.map((r, i) => [r.id, i]));
const TABLE = Float64Array.from(REGIONS.flatMap((a) => REGIONS.map((b) => estimateLatencyMs(a, b))));

/** Position of a region in REGIONS; throws UNKNOWN_REGION (as regionById) for an id not on the list. */
export function regionIndexOf(id: string): number {
  const i = INDEX_BY_ID.get(id);
  if (i === undefined) regionById(id);
  return i as number;
}

/** estimateLatencyMs between the regions at these positions of REGIONS, in ms; the same number, looked up. */
export function tableLatencyMs(from: number, to: number): number {
  return TABLE[from * REGIONS.length + to];
}
