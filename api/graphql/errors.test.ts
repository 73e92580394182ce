import { GraphQLError } from "graphql";
import { PricingError } from "../../pricing";
import { MatchingError } from "../../matching";
import { ServiceError } from "../services/errors";
import { formatError, INTERNAL_ERROR_MESSAGE } from "./errors";

describe("formatError", () => {
  const logged: unknown[] = [];
  const format = formatError((e) => logged.push(e));
  const wrap = (original: Error) => new GraphQLError(original.message, { originalError: original, path: ["x"] });

  it("gives module errors their contract code", () => {
    expect(format({ message: "m" }, wrap(new ServiceError("FORBIDDEN", "not yours"))).extensions).toEqual({ code: "FORBIDDEN" });
    expect(format({ message: "m" }, wrap(new PricingError("NEGATIVE_AMOUNT", "neg"))).extensions).toEqual({ code: "BAD_USER_INPUT" });
    expect(format({ message: "m" }, wrap(new MatchingError("UNKNOWN_REGION", "where"))).extensions).toEqual({ code: "BAD_USER_INPUT" });
    expect(logged).toEqual([]);
  });

  it("masks and logs anything else: no message, no stack, no SQL", () => {
    const sql = new Error('duplicate key value violates unique constraint "offers_pkey" SELECT * FROM offers');
    const out = format({ message: sql.message, path: ["x"], extensions: { code: "INTERNAL_SERVER_ERROR", stacktrace: ["at x"] } }, wrap(sql));
    expect(out).toEqual({ message: INTERNAL_ERROR_MESSAGE, path: ["x"], extensions: { code: "INTERNAL_SERVER_ERROR" } });
    expect(logged).toEqual([sql]);
  });

  it("keeps GraphQL's own request codes", () => {
    const out = format({ message: "Syntax Error", extensions: { code: "GRAPHQL_PARSE_FAILED" } }, new GraphQLError("Syntax Error"));
    expect(out.extensions).toEqual({ code: "GRAPHQL_PARSE_FAILED" });
  });
});
