import { MATCHING_ERROR_CODES, MatchingError } from "../../matching";
import { PRICING_ERROR_CODES, PricingError } from "../../pricing";
import { classifyError, ERROR_CODES } from "./errors";

/** An error as TypeORM throws it for a failed query: the pg error under driverError. */
const queryFailed = (driverError: object) => Object.assign(new Error("query failed"), { name: "QueryFailedError", driverError });

describe("classifyError", () => {
  it("answers every code of the pure modules' tables as the client's bad input, with the module's message", () => {
    // every code the modules declare, so a code added there without a mapping here fails (it compiles as undefined)
    for (const code of PRICING_ERROR_CODES) expect(classifyError(new PricingError(code, `pricing says ${code}`))).toMatchObject({ code: "BAD_USER_INPUT", message: `pricing says ${code}` });
    for (const code of MATCHING_ERROR_CODES) expect(classifyError(new MatchingError(code, `matching says ${code}`))).toMatchObject({ code: "BAD_USER_INPUT", message: `matching says ${code}` });
  });

  it.each([
    ["Postgres shutting down (57P01)", queryFailed({ code: "57P01", message: "terminating connection due to administrator command" })],
    ["Postgres starting (57P03)", queryFailed({ code: "57P03", message: "the database system is starting up" })],
    ["too many connections (53300)", { code: "53300", message: "sorry, too many clients already" }],
    ["a refused connection", Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" })],
    ["a full pool", new Error("timeout exceeded when trying to connect")],
    ["a connection cut mid-query", new Error("Connection terminated unexpectedly")],
    [
      "a transaction's next statement after its connection was lost (TypeORM released the runner)",
      Object.assign(new Error("Database connection provided by a query runner was already released, cannot continue to use its querying methods anymore."), { name: "QueryRunnerProviderAlreadyReleasedError" }),
    ],
    ["a statement on a released query runner", Object.assign(new Error("Query runner already released. Cannot run queries anymore."), { name: "QueryRunnerAlreadyReleasedError" })],
    ["Redis gone (ioredis)", Object.assign(new Error("Reached the max retries per request limit (which is 0)."), { name: "MaxRetriesPerRequestError" })],
    ["a deadlock that outlived its retries", queryFailed({ code: "40P01", message: "deadlock detected" })],
    ["a serialization failure", queryFailed({ code: "40001", message: "could not serialize access" })],
  ])("answers %s as a retryable UNAVAILABLE without the driver's words", (_what, error) => {
    const e = classifyError(error);
    expect(e?.code).toBe("UNAVAILABLE");
    expect(ERROR_CODES.UNAVAILABLE).toEqual({ httpStatus: 503, retryable: true });
    expect(e!.retryAfterSeconds).toBeGreaterThan(0);
    expect(e!.message).not.toMatch(/ECONNREFUSED|57P|deadlock|terminat/);
  });

  it("refused input is the client's, and anything else is not classified (masked)", () => {
    expect(classifyError(queryFailed({ code: "22021", message: "invalid byte sequence" }))?.code).toBe("BAD_USER_INPUT");
    expect(classifyError(queryFailed({ code: "23505", message: "duplicate key" }))).toBeUndefined();
    expect(classifyError(new TypeError("x is undefined"))).toBeUndefined();
    expect(classifyError("a string")).toBeUndefined();
  });

  it("maps every code to a distinct HTTP status in the 4xx/5xx ranges", () => {
    const statuses = Object.values(ERROR_CODES).map((c) => c.httpStatus);
    expect(new Set(statuses).size).toBe(statuses.length);
    expect(statuses.every((s) => s >= 400 && s < 600)).toBe(true);
  });
});

describe("classifyError of wrapped values", () => {
  it("sees through graphql-js's wrapper of a thrown value that is not an Error of its realm", () => {
    const wrapped = Object.assign(new Error("Unexpected error value: { errno: -111 }"), { name: "NonErrorThrown", thrownValue: { errno: -111, code: "ECONNREFUSED", syscall: "connect" } });
    expect(classifyError(wrapped)?.code).toBe("UNAVAILABLE");
  });
});
