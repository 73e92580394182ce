import { GraphQLError } from "graphql";
import { formatError } from "../graphql/errors";
import { classifyError, ERROR_CODES, ServiceError, type ServiceErrorCode } from "../services/errors";
import { clientErrorReply } from "./error-status";

/** The API's contract for each code: its REST status, and whether it is retryable (written out here, not read from ERROR_CODES). */
const CONTRACT: Record<string, [status: number, retryable: boolean]> = {
  UNAUTHENTICATED: [401, false],
  FORBIDDEN: [403, false],
  BAD_USER_INPUT: [400, false],
  NOT_FOUND: [404, false],
  CONFLICT: [409, false],
  INSUFFICIENT_FUNDS: [402, false],
  QUOTA_EXCEEDED: [507, false],
  PAYLOAD_TOO_LARGE: [413, false],
  RATE_LIMITED: [429, true],
  LIMIT_EXCEEDED: [422, false],
  UNAVAILABLE: [503, true],
};

describe("one error table, every transport", () => {
  it("has exactly the contract's codes, each once", () => {
    expect(Object.keys(ERROR_CODES).sort()).toEqual(Object.keys(CONTRACT).sort());
  });

  it.each(Object.entries(CONTRACT))("answers %s over REST and GraphQL (HTTP and WebSocket) as the contract says", (code, [status, retryable]) => {
    const error = new ServiceError(code as ServiceErrorCode, `because of ${code}`, retryable ? 7 : undefined);
    expect(classifyError(error)).toBe(error);
    expect(clientErrorReply(error)).toEqual({ status, headers: retryable ? { "Retry-After": "7" } : {}, body: { error: { code, message: `because of ${code}` } } });
    const logged: unknown[] = [];
    const answer = formatError((e) => logged.push(e))({ message: error.message, path: ["x"] }, new GraphQLError(error.message, { originalError: error, path: ["x"] }));
    expect(answer).toEqual({ message: `because of ${code}`, path: ["x"], extensions: retryable ? { code, retryAfterSeconds: 7 } : { code } });
    expect(logged).toEqual([]);
  });

  it("says Retry-After: 1 for a retryable error that names no wait, and nothing of an error it does not classify", () => {
    expect(clientErrorReply(new ServiceError("RATE_LIMITED", "slow down"))?.headers).toEqual({ "Retry-After": "1" });
    expect(clientErrorReply(new TypeError("x is undefined"))).toBeUndefined();
  });
});
