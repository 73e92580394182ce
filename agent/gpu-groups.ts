import { normalizeGpuModel } from "../matching/market-id";

/** GPUs of one model and memory size on this node. */
export interface GpuGroup {
  model: string;
  vramGb: number;
  count: number;
}

/** A GPU group with the device indexes its GPUs have on this machine. */
export interface IndexedGpuGroup extends GpuGroup {
  indexes: number[];
}

/** The group the agent offers: the most GPUs, then the most memory, then the first listed. */
export function largestGroup<T extends GpuGroup>(groups: readonly T[]): T {
  if (groups.length === 0) throw new Error("no GPU groups");
  return groups.reduce((best, g) => (g.count > best.count || (g.count === best.count && g.vramGb > best.vramGb) ? g : best));
}

/** Merges groups of the same normalized model and memory size, summing counts and keeping first-seen order. */
export function mergeGroups(groups: readonly GpuGroup[]): GpuGroup[] {
  const byKey = new Map<string, GpuGroup>();
  for (const g of groups) {
    const key = `${normalizeGpuModel(g.model)}-${g.vramGb}`;
    const seen = byKey.get(key);
    if (seen) seen.count += g.count;
    else byKey.set(key, { ...g });
  }
  return [...byKey.values()];
}
