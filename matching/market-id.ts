import { MatchingError } from "./errors";

const VENDOR_WORDS = new Set(["NVIDIA", "AMD", "GEFORCE", "TESLA", "INSTINCT", "RADEON"]);
const MEMORY_SIZE = /^\d+(GB|G)$/;
const MEMORY_KIND = /^(HBM\d*E?|GDDR\d+X?)$/;
const FORM_FACTOR = /^(PCIE|SXM\d*|NVL|OAM)$/;
const MODEL_PATTERN = /^[A-Z0-9]{1,32}$/;
const MARKET_PATTERN = /^([A-Z0-9]{1,32})-(\d{1,4})GB$/;
/** Largest GPU memory accepted, in GB. */
export const MAX_VRAM_GB = 1024;

/**
 * Normalizes a GPU model name as a market names it: capitals, vendor and family words dropped
 * (NVIDIA, AMD, GeForce, Tesla, Instinct, Radeon), memory size, memory kind and form factor dropped,
 * spaces removed. 'NVIDIA H100 80GB HBM3' -> 'H100', 'GeForce RTX 4090' -> 'RTX4090',
 * 'NVIDIA A100-SXM4-80GB' -> 'A100', 'H100-80GB' -> 'H100'.
 * Throws INVALID_GPU_MODEL when nothing of a model is left or it has characters other than letters and digits.
 */
export function normalizeGpuModel(name: string): string {
  const tokens = name
    .toUpperCase()
    .replace(/[-_/,()]+/g, " ")
    .split(/\s+/)
    .filter((t) => t.length > 0 && !VENDOR_WORDS.has(t) && !MEMORY_SIZE.test(t) && !MEMORY_KIND.test(t) && !FORM_FACTOR.test(t));
  const model = tokens.join("");
  if (!MODEL_PATTERN.test(model)) {
    throw new MatchingError(
      "INVALID_GPU_MODEL",
      `GPU model "${name.slice(0, 64)}" is not a model name; use letters and digits such as "H100" or "RTX 4090"`,
    );
  }
  return model;
}

/** Checks a GPU memory size in whole GB (1 to {@link MAX_VRAM_GB}); throws INVALID_VRAM otherwise. */
export function assertVramGb(vramGb: number): void {
  if (!Number.isInteger(vramGb) || vramGb < 1 || vramGb > MAX_VRAM_GB) {
    throw new MatchingError("INVALID_VRAM", `vramGb must be a whole number of GB from 1 to ${MAX_VRAM_GB}, got ${vramGb}`);
  }
}

/** The market id of a GPU model with its memory: `<MODEL>-<VRAM>GB`, e.g. ('NVIDIA H100 80GB HBM3', 80) -> 'H100-80GB'. */
export function marketIdOf(gpuModel: string, vramGb: number): string {
  assertVramGb(vramGb);
  return `${normalizeGpuModel(gpuModel)}-${vramGb}GB`;
}

/**
 * Parses a market id written by a client, leniently: 'h100-80gb' and 'NVIDIA H100 80GB' with no size token
 * are not accepted, but case is. Returns the canonical id and its parts; throws INVALID_MARKET otherwise.
 */
export function parseMarketId(text: string): { id: string; gpuModel: string; vramGb: number } {
  const match = MARKET_PATTERN.exec(text.trim().toUpperCase());
  const vramGb = match ? Number(match[2]) : 0;
  if (!match || vramGb < 1 || vramGb > MAX_VRAM_GB) {
    throw new MatchingError("INVALID_MARKET", `"${text.slice(0, 64)}" is not a market id; write <MODEL>-<VRAM>GB, e.g. "H100-80GB"`);
  }
  return { id: `${match[1]}-${vramGb}GB`, gpuModel: match[1], vramGb };
}
