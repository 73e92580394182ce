import { GraphQLError } from "graphql";
import { formatError } from "../../api/graphql/errors";
import { ERROR_CODES as SERVER_TABLE } from "../../api/services/errors";
import { codeOfStatus, ERROR_CODES, GRAPHQL_ERROR_CODES, isRetryable, SERVER_ERROR_CODES, toExchangeError } from "./errors";

it("lists exactly the server's error codes, with the same HTTP status and retryable flag", () => {
  expect(SERVER_ERROR_CODES).toEqual(SERVER_TABLE);
  for (const [code, { httpStatus }] of Object.entries(SERVER_TABLE)) {
    if (Object.values(SERVER_TABLE).filter((c) => c.httpStatus === httpStatus).length === 1) expect(codeOfStatus(httpStatus)).toBe(code);
  }
});

it("lists GraphQL's own codes that the server passes through (and a code it does not pass is masked)", () => {
  const passed = (code: string) => {
    const error = new GraphQLError("refused", { extensions: { code } });
    return formatError(() => undefined)({ message: "refused", extensions: { code } }, error).extensions?.code;
  };
  for (const code of GRAPHQL_ERROR_CODES) expect(passed(code)).toBe(code);
  expect(passed("SOMETHING_ELSE")).toBe("INTERNAL_SERVER_ERROR");
  expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
});

it("maps statuses, close codes and network failures to codes", () => {
  expect(codeOfStatus(503)).toBe("UNAVAILABLE");
  expect(codeOfStatus(400)).toBe("BAD_USER_INPUT");
  expect(codeOfStatus(418)).toBe("HTTP_ERROR");
  expect(toExchangeError({ code: 4403, reason: "Forbidden: the session expired; sign in again" }).code).toBe("UNAUTHENTICATED");
  expect(toExchangeError({ code: 1006, reason: "" }).code).toBe("NETWORK_ERROR");
  expect(toExchangeError([{ message: "no", extensions: { code: "CONFLICT" } }]).code).toBe("CONFLICT");
  expect(toExchangeError(new TypeError("fetch failed")).code).toBe("NETWORK_ERROR");
  expect([isRetryable("UNAVAILABLE"), isRetryable("RATE_LIMITED"), isRetryable("NETWORK_ERROR"), isRetryable("CONFLICT")]).toEqual([true, true, true, false]);
});
