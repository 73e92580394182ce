import { z } from "zod";
import type { MatchStrategy } from "../../matching";
import { badInput } from "./errors";
import { freeTextProblem, type TextKind } from "./free-text";

/**
 * The relay's body: a SubmitJobInput as JSON, typed as GraphQL would type it (the relay has no GraphQL layer in front
 * of it), with `requirements.maxPriceUsdPerGpuHour` in place of `maxPricePerGpuHour`. Unknown fields are refused, as
 * GraphQL refuses them. Parsing yields the fields in one fixed order with defaults applied, so the same job sent with
 * its keys in another order, or with a default spelled out, has the same canonical form.
 */
const int = z.int32();
/** Free text as GraphQL's mutations take it (free-text.ts): a line, or multi-line text (command arguments, env values). */
const freeText = (kind: TextKind) =>
  z.string().superRefine((value, ctx) => {
    const problem = freeTextProblem(value, kind);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
const text = freeText("line");
const multiline = freeText("text");
const weights = z.strictObject({ price: z.number().nullish(), latency: z.number().nullish(), vram: z.number().nullish(), reputation: z.number().nullish() });
const requirements = z.strictObject({
  gpuCount: int,
  minVramGb: int,
  gpuModels: z.array(text).nullish(),
  region: text.nullish(),
  maxLatencyMs: int.nullish(),
  minReputation: z.number().nullish(),
  /** Checked by the relay itself (US dollars, at most 6 decimals), which says more than a type error would. */
  maxPriceUsdPerGpuHour: z.unknown(),
  maxDurationSeconds: int,
  redundancy: int.default(1),
  strategy: z.enum(["BALANCED", "CHEAPEST", "FASTEST", "MOST_RELIABLE"] satisfies MatchStrategy[]).nullish(),
  weights: weights.nullish(),
});
const body = z.strictObject({
  kind: text,
  sourceId: text.nullish(),
  image: text.nullish(),
  command: z.array(multiline).nullish(),
  env: z.array(z.strictObject({ name: text, value: multiline })).nullish(),
  inputUri: text.nullish(),
  requirements,
  checkpointIntervalSeconds: int.nullish(),
  idempotencyKey: text.nullish(),
});

export type RelayJobBody = z.infer<typeof body>;

/** The relay body, typed; BAD_USER_INPUT naming the first field that is missing, of the wrong type, or unknown. */
export function parseRelayJob(input: unknown): RelayJobBody {
  if (typeof input === "object" && input !== null && !Array.isArray(input)) {
    const requirementsGiven = (input as { requirements?: unknown }).requirements;
    if (typeof requirementsGiven === "object" && requirementsGiven !== null && "maxPricePerGpuHour" in requirementsGiven) {
      throw badInput("the relay prices in USD: send requirements.maxPriceUsdPerGpuHour, not maxPricePerGpuHour");
    }
  }
  const parsed = body.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue.path.length > 0 ? issue.path.join(".") : "the body";
  if (issue.code === "unrecognized_keys") throw badInput(`${where}: unknown field ${issue.keys.map((k) => `"${k}"`).join(", ")}; the body is a SubmitJobInput`);
  if (issue.code === "invalid_type") {
    const expected = issue.expected === "int" ? "a whole number (32-bit)" : issue.expected === "object" && issue.path.length === 0 ? "a JSON object: a SubmitJobInput" : issue.expected;
    throw badInput(`${where}: expected ${expected}`);
  }
  if (issue.code === "invalid_value") throw badInput(`${where}: one of ${issue.values.join(", ")}`);
  if (issue.code === "custom") throw badInput(`${where} ${issue.message}`);
  throw badInput(`${where}: ${issue.message}`);
}
