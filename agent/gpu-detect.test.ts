import { AgentConfigError } from "./config";
import type { ExecFile } from "./exec-file";
import { detectGpus, groupDetectedGpus, parseCudaVersion, parseGpuMetricsCsv, parseNvidiaSmiCsv, resolveGpus, sampleGpuMetrics } from "./gpu-detect";
import { captureLogger } from "./test-logger";

const H100_X2 = [
  "NVIDIA H100 80GB HBM3, 81559, 535.104.05, GPU-6f1a3c1e-2b1d-4e55-9a1b-0c5a1f0e2d11, 0",
  "NVIDIA H100 80GB HBM3, 81559, 535.104.05, GPU-7a2b4d2f-3c2e-5f66-ab2c-1d6b2a1f3e22, 1",
  "",
].join("\n");
const MIXED = [
  "NVIDIA GeForce RTX 4090, 24564, 550.54.14, GPU-aaaa, 0",
  "NVIDIA H100 80GB HBM3, 81559, 550.54.14, GPU-bbbb, 1",
  "NVIDIA GeForce RTX 4090, 24564, 550.54.14, GPU-cccc, 2",
].join("\r\n");

describe("parseNvidiaSmiCsv", () => {
  it("reads H100s (81559 MiB -> 80 GB)", () => {
    expect(parseNvidiaSmiCsv(H100_X2)).toEqual([
      { index: 0, uuid: "GPU-6f1a3c1e-2b1d-4e55-9a1b-0c5a1f0e2d11", model: "NVIDIA H100 80GB HBM3", vramGb: 80, driver: "535.104.05" },
      { index: 1, uuid: "GPU-7a2b4d2f-3c2e-5f66-ab2c-1d6b2a1f3e22", model: "NVIDIA H100 80GB HBM3", vramGb: 80, driver: "535.104.05" },
    ]);
  });

  it("reads an RTX 4090 (24564 MiB -> 24 GB) and CRLF lines", () => {
    const gpus = parseNvidiaSmiCsv(MIXED);
    expect(gpus.map((g) => [g.index, g.model, g.vramGb])).toEqual([
      [0, "NVIDIA GeForce RTX 4090", 24],
      [1, "NVIDIA H100 80GB HBM3", 80],
      [2, "NVIDIA GeForce RTX 4090", 24],
    ]);
  });

  it("keeps a name with a comma and skips junk", () => {
    const text = "Odd, Name GPU, 16384, 1.0, GPU-x, 3\nNVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\nA100, [N/A], 1.0, GPU-y, 4\n";
    expect(parseNvidiaSmiCsv(text)).toEqual([{ index: 3, uuid: "GPU-x", model: "Odd, Name GPU", vramGb: 16, driver: "1.0" }]);
  });

  it("groups identical models with their indexes", () => {
    expect(groupDetectedGpus(parseNvidiaSmiCsv(MIXED))).toEqual([
      { model: "NVIDIA GeForce RTX 4090", vramGb: 24, count: 2, indexes: [0, 2] },
      { model: "NVIDIA H100 80GB HBM3", vramGb: 80, count: 1, indexes: [1] },
    ]);
  });
});

describe("metrics and banner", () => {
  it("averages utilization (as a fraction) and temperature", () => {
    expect(parseGpuMetricsCsv("80, 60\n40, 70\n")).toEqual({ gpuUtilization: 0.6, gpuTemperatureC: 65 });
    expect(parseGpuMetricsCsv("[N/A], [N/A]\n")).toBeUndefined();
  });

  it("reads the CUDA version", () => {
    expect(parseCudaVersion("| NVIDIA-SMI 550.54.14   Driver Version: 550.54.14   CUDA Version: 12.4     |")).toBe("12.4");
    expect(parseCudaVersion("nothing")).toBeNull();
  });

  it("samples nothing without GPUs", async () => {
    const exec = jest.fn<Promise<string>, Parameters<ExecFile>>(async () => "50, 50\n");
    await expect(sampleGpuMetrics(exec, false)).resolves.toBeUndefined();
    expect(exec).not.toHaveBeenCalled();
    await expect(sampleGpuMetrics(exec, true)).resolves.toEqual({ gpuUtilization: 0.5, gpuTemperatureC: 50 });
    expect(exec).toHaveBeenCalledWith("nvidia-smi", ["--query-gpu=utilization.gpu,temperature.gpu", "--format=csv,noheader,nounits"], 10_000);
  });
});

describe("detectGpus", () => {
  it("runs nvidia-smi with argv and a 10 s timeout", async () => {
    const exec = jest.fn<Promise<string>, Parameters<ExecFile>>(async (_f, args) => (args.length > 0 ? H100_X2 : "CUDA Version: 12.2"));
    const { logger } = captureLogger();
    const found = await detectGpus(exec, logger);
    expect(found.gpus).toHaveLength(2);
    expect(found.cudaVersion).toBe("12.2");
    expect(exec.mock.calls[0]).toEqual(["nvidia-smi", ["--query-gpu=name,memory.total,driver_version,uuid,index", "--format=csv,noheader,nounits"], 10_000]);
  });

  it("finds nothing when nvidia-smi is missing", async () => {
    const exec: ExecFile = async () => {
      throw Object.assign(new Error("spawn nvidia-smi ENOENT"), { code: "ENOENT" });
    };
    await expect(detectGpus(exec, captureLogger().logger)).resolves.toEqual({ gpus: [], cudaVersion: null });
  });
});

describe("resolveGpus", () => {
  const declared = [
    { model: "NVIDIA H100 80GB HBM3", vramGb: 80, count: 2 },
    { model: "GeForce RTX 4090", vramGb: 24, count: 1 },
  ];

  it("uses the declaration with a warning when nothing is detected", () => {
    const { logger, records } = captureLogger();
    const resolved = resolveGpus([], declared, logger);
    expect(resolved).toEqual({
      source: "declared",
      groups: [
        { model: "NVIDIA H100 80GB HBM3", vramGb: 80, count: 2, indexes: [0, 1] },
        { model: "GeForce RTX 4090", vramGb: 24, count: 1, indexes: [2] },
      ],
    });
    expect(records.map((r) => r.msg)).toContain("no NVIDIA GPU found by nvidia-smi; using the GPUs declared by --gpus");
  });

  it("prefers detected GPUs and says the declaration is ignored", () => {
    const { logger, records } = captureLogger();
    const resolved = resolveGpus(parseNvidiaSmiCsv(MIXED), declared, logger);
    expect(resolved.source).toBe("detected");
    expect(resolved.groups.map((g) => g.count)).toEqual([2, 1]);
    expect(records.some((r) => String(r.msg).includes("ignored"))).toBe(true);
  });

  it("fails without either, naming --gpus", () => {
    expect(() => resolveGpus([], [], captureLogger().logger)).toThrow(AgentConfigError);
    expect(() => resolveGpus([], [], captureLogger().logger)).toThrow(/--gpus/);
  });
});
