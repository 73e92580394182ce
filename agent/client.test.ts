import http from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import { ApiError, createGraphqlClient, isLostError, webSocketUrl } from "./client";
import { loadContract } from "./contract";
import { captureLogger } from "./test-logger";

type Handler = (body: { query: string; operationName: string; variables: Record<string, unknown> }, headers: http.IncomingHttpHeaders) => { status: number; body: unknown };

describe("GraphQL client", () => {
  let server: http.Server;
  let url: string;
  let handler: Handler;
  let hits: number;
  const operations = loadContract();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let text = "";
      req.on("data", (c) => (text += c));
      req.on("end", () => {
        hits += 1;
        const out = handler(JSON.parse(text), req.headers);
        res.writeHead(out.status, { "content-type": "application/json" });
        res.end(typeof out.body === "string" ? out.body : JSON.stringify(out.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    hits = 0;
  });

  const client = () => createGraphqlClient({ apiUrl: url, apiKey: "gx_secret_key", operations, logger: captureLogger("silent").logger, retryBaseMs: 1, maxAttempts: 3 });

  it("sends the contract operation with the bearer key and returns data", async () => {
    let seen: { body: Parameters<Handler>[0]; auth: string | undefined } | undefined;
    handler = (body, headers) => {
      seen = { body, auth: headers.authorization };
      return { status: 200, body: { data: { cancelOffer: { id: "o1", status: "CANCELLED" } } } };
    };
    await expect(client().request("CancelOffer", { id: "o1" })).resolves.toEqual({ cancelOffer: { id: "o1", status: "CANCELLED" } });
    expect(seen?.auth).toBe("Bearer gx_secret_key");
    expect(seen?.body).toEqual({ query: operations("CancelOffer").text, operationName: "CancelOffer", variables: { id: "o1" } });
  });

  it("throws the first error's code and never retries it", async () => {
    handler = () => ({ status: 200, body: { data: null, errors: [{ message: "assignment is not RUNNING", extensions: { code: "CONFLICT" } }, { message: "other" }] } });
    const err = await client().request("StartAssignment", { id: "a" }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: "CONFLICT", message: "StartAssignment: assignment is not RUNNING" });
    expect(isLostError(err)).toBe(true);
    expect(hits).toBe(1);
  });

  it("does not retry 4xx answers", async () => {
    handler = () => ({ status: 400, body: { errors: [{ message: "Cannot query field", extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }] } });
    await expect(client().request("MyNodes")).rejects.toMatchObject({ code: "GRAPHQL_VALIDATION_FAILED" });
    handler = () => ({ status: 401, body: "no" });
    await expect(client().request("MyNodes")).rejects.toMatchObject({ code: "UNAUTHENTICATED", status: 401 });
    expect(hits).toBe(2);
  });

  it("retries 5xx a bounded number of times", async () => {
    handler = () => (hits < 3 ? { status: 503, body: "busy" } : { status: 200, body: { data: { myNodes: [] } } });
    await expect(client().request("MyNodes")).resolves.toEqual({ myNodes: [] });
    expect(hits).toBe(3);
    hits = 0;
    handler = () => ({ status: 502, body: "down" });
    await expect(client().request("MyNodes")).rejects.toMatchObject({ code: "HTTP_ERROR", status: 502 });
    expect(hits).toBe(3);
  });

  it("retries network errors, then gives up with NETWORK_ERROR", async () => {
    const dead = createGraphqlClient({ apiUrl: "http://127.0.0.1:1/graphql", apiKey: "k", operations, logger: captureLogger("silent").logger, retryBaseMs: 1, maxAttempts: 2 });
    await expect(dead.request("MyNodes")).rejects.toMatchObject({ code: "NETWORK_ERROR" });
  });

  it("maps http to ws URLs", () => {
    expect(webSocketUrl("http://h:4000/graphql")).toBe("ws://h:4000/graphql");
    expect(webSocketUrl("https://h/graphql")).toBe("wss://h/graphql");
  });
});

describe("GraphQL subscriptions", () => {
  let wss: WebSocketServer;
  let url: string;
  const operations = loadContract();
  beforeAll(async () => {
    wss = new WebSocketServer({ host: "127.0.0.1", port: 0, handleProtocols: () => "graphql-transport-ws" });
    await new Promise<void>((r) => wss.once("listening", () => r()));
    url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}/graphql`;
    wss.on("connection", (socket) => {
      socket.on("message", (raw) => {
        const msg = JSON.parse(raw.toString());
        if (msg.type === "connection_init") {
          if (msg.payload?.authorization !== "Bearer good") socket.close(4403, "Forbidden");
          else socket.send(JSON.stringify({ type: "connection_ack" }));
        } else if (msg.type === "subscribe") {
          expect(msg.payload.query).toBe(operations("AssignmentsForNode").text);
          socket.send(JSON.stringify({ id: msg.id, type: "next", payload: { data: { assignmentOffered: { id: "a1", job: { id: "j1" } } } } }));
        }
      });
    });
  });
  afterAll(() => new Promise<void>((r) => wss.close(() => r())));

  it("delivers events with the key in connectionParams", async () => {
    const client = createGraphqlClient({ apiUrl: url, apiKey: "good", operations, logger: captureLogger("silent").logger });
    const data = await new Promise((resolve) => client.subscribe("AssignmentsForNode", { nodeId: "n1" }, resolve));
    expect(data).toEqual({ assignmentOffered: { id: "a1", job: { id: "j1" } } });
    await client.close();
  });

  it("treats close 4403 as fatal", async () => {
    const client = createGraphqlClient({ apiUrl: url, apiKey: "bad", operations, logger: captureLogger("silent").logger });
    const err = await new Promise((resolve) => client.subscribe("AssignmentsForNode", { nodeId: "n1" }, () => undefined, resolve));
    expect(err).toMatchObject({ code: "UNAUTHENTICATED" });
    await client.close();
  });
});
