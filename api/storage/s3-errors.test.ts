import { BlobMismatchError, BlobNotFoundError, BlobStoreUnavailableError } from "./blob-store";
import { classifyS3Error, toBlobStoreError } from "./s3-errors";

/** An error shaped as the S3 client throws them (a service exception: name, $fault, $metadata). */
const s3 = (name: string, status?: number, fault: "client" | "server" = "client") =>
  Object.assign(new Error(name), { name, $fault: fault, $metadata: status === undefined ? {} : { httpStatusCode: status } });
const socket = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:9000`), { code, $metadata: { attempts: 3 } });
const H = "ab".repeat(32);

describe("classifyS3Error", () => {
  it.each([
    ["NoSuchKey", s3("NoSuchKey", 404)],
    ["HeadObject's bodiless 404", s3("NotFound", 404)],
    ["any other 404", s3("UnknownError", 404)],
  ])("not-found: %s", (_what, error) => expect(classifyS3Error(error)).toBe("not-found"));

  it.each([
    ["SlowDown", s3("SlowDown", 503, "server")],
    ["ServiceUnavailable", s3("ServiceUnavailable", 503, "server")],
    ["InternalError", s3("InternalError", 500, "server")],
    ["a 502 from a proxy", s3("Unknown", 502, "server")],
    ["429", s3("TooManyRequests", 429)],
    ["RequestTimeout", s3("RequestTimeout", 400)],
    ["the SDK's TimeoutError", Object.assign(new Error("socket timed out"), { name: "TimeoutError" })],
    ["refused connection", socket("ECONNREFUSED")],
    ["reset connection", socket("ECONNRESET")],
    ["DNS", socket("ENOTFOUND")],
    ["a body cut short", Object.assign(new Error("Premature close"), { code: "ERR_STREAM_PREMATURE_CLOSE" })],
    ["a socket error wrapped by the SDK across realms", new Error("AWS SDK error wrapper for Error: connect ECONNREFUSED 127.0.0.1:1")],
    ["a missing bucket", s3("NoSuchBucket", 404)],
    ["wrong credentials", s3("InvalidAccessKeyId", 403)],
    ["a wrong secret", s3("SignatureDoesNotMatch", 403)],
    ["AccessDenied", s3("AccessDenied", 403)],
    ["a network error under `cause`", Object.assign(new Error("fetch failed"), { cause: socket("ECONNRESET") })],
  ])("unavailable: %s", (_what, error) => expect(classifyS3Error(error)).toBe("unavailable"));

  it("bad-range: 416 InvalidRange", () => expect(classifyS3Error(s3("InvalidRange", 416))).toBe("bad-range"));

  it.each([
    ["a bad request of ours", s3("InvalidArgument", 400)],
    ["a missing multipart upload", s3("NoSuchUpload", 404)],
    ["a programming error", new TypeError("x is not a function")],
    ["not an error at all", "boom"],
    ["undefined", undefined],
  ])("other: %s", (_what, error) => expect(classifyS3Error(error)).toBe("other"));
});

describe("toBlobStoreError", () => {
  it("passes the port's own errors through", () => {
    for (const error of [new BlobMismatchError("x"), new BlobNotFoundError(H), new BlobStoreUnavailableError("y")]) {
      expect(toBlobStoreError(error, "read", H)).toBe(error);
    }
  });

  it("makes the port's errors of S3's, keeping the cause of an outage", () => {
    const down = socket("ECONNREFUSED");
    const unavailable = toBlobStoreError(down, "read", H) as BlobStoreUnavailableError;
    expect(unavailable).toBeInstanceOf(BlobStoreUnavailableError);
    expect(unavailable.cause).toBe(down);
    expect(unavailable.message).toBe(`the object store could not read blob ${H}: Error (ECONNREFUSED): connect ECONNREFUSED 127.0.0.1:9000`);
    expect(toBlobStoreError(s3("NoSuchKey", 404), "read", H)).toEqual(new BlobNotFoundError(H));
    expect(toBlobStoreError(s3("InvalidRange", 416), "read", H)).toBeInstanceOf(RangeError);
  });

  it("leaves an unknown error as it is (masked and logged at the edge)", () => {
    const bug = s3("InvalidArgument", 400);
    expect(toBlobStoreError(bug, "store", H)).toBe(bug);
  });
});
