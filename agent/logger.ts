import pino, { type DestinationStream, type Logger } from "pino";
import type { LogLevel } from "./config";

/** Paths pino censors wherever they appear in a log object: the key never reaches a log. */
export const REDACT_PATHS = [
  "apiKey",
  "*.apiKey",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "connectionParams.authorization",
  "config.apiKey",
];

/** The agent's logger: JSON lines, `name: gpu-exchange-agent`, secrets redacted. */
export function createAgentLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = { name: "gpu-exchange-agent", level, redact: { paths: REDACT_PATHS, censor: "[redacted]" } };
  return destination ? pino(options, destination) : pino(options);
}
