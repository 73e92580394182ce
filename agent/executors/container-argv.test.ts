import { buildContainerArgv, containerName } from "./container-argv";
import type { WorkloadSpec } from "./types";

const spec: WorkloadSpec = {
  assignmentId: "a1b2c3",
  scratchDir: "/home/prov/.gpu-exchange/work/n1/a1b2c3",
  image: "ghcr.io/acme/train:1.2",
  command: ["python", "train.py", "--epochs", "3"],
  jobEnv: { HF_TOKEN: "s3cret", LD_PRELOAD: "/x.so", GX_RESULT_FILE: "/etc/passwd" },
  protocol: { jobId: "j9", assignmentId: "a1b2c3", attempt: 2, resumeStep: 40, inputUri: "s3://in", checkpointIntervalSeconds: 300, gpuIndexes: [2, 3] },
};

function valueAfter(argv: string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1]] : []));
}

describe("buildContainerArgv", () => {
  const { argv, env } = buildContainerArgv({ engine: "docker", spec, gpusDetected: true, uid: 1000, gid: 1000 });

  it("locks the container down", () => {
    expect(argv.slice(0, 4)).toEqual(["run", "--rm", "--name", "gx-a1b2c3"]);
    expect(valueAfter(argv, "--network")).toEqual(["bridge"]);
    expect(valueAfter(argv, "--security-opt")).toEqual(["no-new-privileges"]);
    expect(valueAfter(argv, "--cap-drop")).toEqual(["ALL"]);
    expect(valueAfter(argv, "--pids-limit")).toEqual(["512"]);
    expect(valueAfter(argv, "--memory")).toEqual(["16g"]);
    expect(valueAfter(argv, "--user")).toEqual(["1000:1000"]);
    expect(argv).not.toContain("--privileged");
  });

  it("mounts only the scratch folder, at /gx", () => {
    expect(valueAfter(argv, "-v")).toEqual(["/home/prov/.gpu-exchange/work/n1/a1b2c3:/gx:rw"]);
    expect(argv.filter((a) => a === "--mount" || a === "--volume")).toEqual([]);
  });

  it("passes env by name, protocol paths under /gx, protocol winning over the job", () => {
    const names = valueAfter(argv, "-e");
    expect(names).toEqual(expect.arrayContaining(["HF_TOKEN", "GX_JOB_ID", "GX_RESULT_FILE", "GX_CHECKPOINT_DIR", "GX_RESUME_FILE", "LD_PRELOAD=/x.so", "HOME=/gx"]));
    expect(argv.join(" ")).not.toContain("s3cret");
    expect(env).toMatchObject({
      HF_TOKEN: "s3cret",
      GX_JOB_ID: "j9",
      GX_ASSIGNMENT_ID: "a1b2c3",
      GX_ATTEMPT: "2",
      GX_CHECKPOINT_DIR: "/gx/checkpoints",
      GX_INPUT_DIR: "/gx/inputs",
      GX_OUTPUT_DIR: "/gx/outputs",
      GX_RESULT_FILE: "/gx/outputs/result",
      GX_RESUME_STEP: "40",
      GX_RESUME_FILE: "/gx/checkpoints/resume.ckpt",
      GX_INPUT_URI: "s3://in",
      GX_GPUS: "2,3",
      GX_CHECKPOINT_INTERVAL_S: "300",
    });
    expect(env.LD_PRELOAD).toBeUndefined();
  });

  it("ends with the image and the command", () => {
    expect(argv.slice(-5)).toEqual(["ghcr.io/acme/train:1.2", "python", "train.py", "--epochs", "3"]);
  });

  it("asks docker for the assigned GPUs", () => {
    expect(valueAfter(argv, "--gpus")).toEqual(['"device=2,3"']);
  });

  it("uses CDI devices with podman", () => {
    const podman = buildContainerArgv({ engine: "podman", spec, gpusDetected: true, uid: 1000, gid: 100, memory: "64g" }).argv;
    expect(valueAfter(podman, "--device")).toEqual(["nvidia.com/gpu=2", "nvidia.com/gpu=3"]);
    expect(valueAfter(podman, "--memory")).toEqual(["64g"]);
    expect(podman).not.toContain("--gpus");
  });

  it("passes no GPU when none was detected", () => {
    const plain = buildContainerArgv({ engine: "docker", spec, gpusDetected: false, uid: 1, gid: 1 }).argv;
    expect(plain).not.toContain("--gpus");
    expect(plain).not.toContain("--device");
  });

  it("names containers safely", () => {
    expect(containerName("ab/../c d")).toBe("gx-ab-..-c-d");
  });
});
