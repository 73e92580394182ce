export * from "./types";
export { createProcessExecutor, processEnv } from "./process-executor";
export { buildContainerArgv, containerName, CONTAINER_ROOT, DEFAULT_CONTAINER_MEMORY, type ContainerEngine, type ContainerRun } from "./container-argv";
export { createContainerExecutor, detectContainerEngine, type DetectedEngine, type ContainerExecutorOptions } from "./container-executor";
