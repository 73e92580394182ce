/**
 * GPU models the marketplace knows by name (normalized as markets name them, see normalizeGpuModel), so a
 * job may ask for one before anyone offers it; a model outside this list is known once a node offers it.
 */
export const KNOWN_GPU_MODELS: ReadonlySet<string> = new Set([
  // NVIDIA data centre
  "B200", "B100", "GB200", "H200", "H100", "H800", "H20", "GH200", "A100", "A800", "A40", "A30", "A16", "A10", "A10G", "A2",
  "L40S", "L40", "L20", "L4", "V100", "V100S", "T4", "P100", "P40", "P4", "K80",
  // NVIDIA workstation
  "RTX6000ADA", "RTXA6000", "RTXA5500", "RTXA5000", "RTXA4500", "RTXA4000", "RTXA2000", "QUADRORTX8000", "QUADRORTX6000",
  // NVIDIA consumer
  "RTX5090", "RTX5080", "RTX5070TI", "RTX5070", "RTX4090", "RTX4080SUPER", "RTX4080", "RTX4070TISUPER", "RTX4070TI", "RTX4070SUPER", "RTX4070",
  "RTX4060TI", "RTX4060", "RTX3090TI", "RTX3090", "RTX3080TI", "RTX3080", "RTX3070TI", "RTX3070", "RTX3060TI", "RTX3060",
  "RTX2080TI", "RTX2080", "TITANRTX", "TITANV",
  // AMD
  "MI355X", "MI325X", "MI300X", "MI300A", "MI250X", "MI250", "MI210", "MI100", "RX7900XTX", "RX7900XT", "W7900", "W7800",
  // Intel
  "GAUDI3", "GAUDI2", "MAX1550", "MAX1100",
]);

/** Whether `model` (normalized) is in {@link KNOWN_GPU_MODELS}. */
export function isKnownGpuModel(model: string): boolean {
  return KNOWN_GPU_MODELS.has(model);
}
