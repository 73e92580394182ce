/** The kinds of workload a job (or a published source) declares. */
export const JOB_KINDS = ["INFERENCE", "TRAINING", "FINE_TUNING", "BATCH", "IMAGE_GENERATION", "EMBEDDINGS", "TRANSCODING", "RENDERING", "OTHER"] as const;
export type JobKindValue = (typeof JOB_KINDS)[number];
