import pino, { type Logger } from "pino";

/** A logger for tests that keeps its records in `records` (parsed JSON lines). */
export function captureLogger(level: pino.LevelWithSilent = "debug"): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const logger = pino({ level }, { write: (line: string) => void records.push(JSON.parse(line)) });
  return { logger, records };
}
