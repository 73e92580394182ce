/** An error's message, for logs and failure reasons; objects that are not Errors show their code and reason. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "object" && err !== null) {
    const { code, reason, message } = err as { code?: unknown; reason?: unknown; message?: unknown };
    const parts = [code, reason, message].filter((p) => p !== undefined && p !== "").map(String);
    if (parts.length > 0) return parts.join(": ");
    try {
      return JSON.stringify(err);
    } catch {
      return String(err);
    }
  }
  return String(err);
}
