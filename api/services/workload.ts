import { badInput } from "./errors";
import { JOB_KINDS, type JobKindValue } from "./job-kinds";

export const MAX_IMAGE_LENGTH = 512;
export const MAX_COMMAND_ARGS = 64;
export const MAX_ARG_LENGTH = 4096;
export const MAX_ENV_VARS = 64;
export const MAX_ENV_VALUE_LENGTH = 4096;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export type EnvVar = { name: string; value: string; secret?: boolean | null };

/** True when `text` holds a control character (NUL to US, or DEL): never wanted in names, references or labels. */
export function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** A workload's kind, one of JOB_KINDS; BAD_USER_INPUT otherwise. */
export function checkKind(kind: string): JobKindValue {
  if (!(JOB_KINDS as readonly string[]).includes(kind)) throw badInput(`kind must be one of ${JOB_KINDS.join(", ")}`);
  return kind as JobKindValue;
}

/** A container image reference (trimmed; null when empty): at most 512 characters, no spaces or control characters, not an option. */
export function checkImage(text: string | null | undefined): string | null {
  const image = text?.trim() || null;
  if (image !== null && (image.length > MAX_IMAGE_LENGTH || /\s/.test(image) || hasControlCharacters(image) || image.startsWith("-"))) {
    throw badInput(`image must be a container image reference of at most ${MAX_IMAGE_LENGTH} characters, without spaces`);
  }
  return image;
}

/** An argv list (null when empty): at most 64 arguments of at most 4096 characters, no NUL. */
export function checkCommand(args: readonly string[] | null | undefined): string[] | null {
  const command = args && args.length > 0 ? [...args] : null;
  if (command && (command.length > MAX_COMMAND_ARGS || command.some((a) => a.length > MAX_ARG_LENGTH || a.includes("\0")))) {
    throw badInput(`command takes at most ${MAX_COMMAND_ARGS} arguments of at most ${MAX_ARG_LENGTH} characters each`);
  }
  return command;
}

/** Environment variables (null when none): at most 64, each named once with letters, digits and _, values at most 4096 characters. */
export function checkEnv(vars: readonly EnvVar[] | null | undefined): EnvVar[] | null {
  // a secret's value is masked in the job's logs
  const env = vars && vars.length > 0 ? vars.map((e) => ({ name: e.name, value: e.value, ...(e.secret ? { secret: true } : {}) })) : null;
  if (!env) return null;
  if (env.length > MAX_ENV_VARS) throw badInput(`env takes at most ${MAX_ENV_VARS} variables`);
  const bad = env.find((e) => !ENV_NAME.test(e.name) || e.value.length > MAX_ENV_VALUE_LENGTH || e.value.includes("\0"));
  if (bad) throw badInput(`env "${bad.name.slice(0, 64)}": names are letters, digits and _ (not starting with a digit); values at most ${MAX_ENV_VALUE_LENGTH} characters`);
  if (new Set(env.map((e) => e.name)).size !== env.length) throw badInput("env names each variable once");
  return env;
}
