import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import express from "express";
import { graphiqlRoute, webAppRoutes } from "./web-app";

let dir: string;
const servers: Server[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "gx-web-app-"));
  mkdirSync(join(dir, "assets"));
  writeFileSync(join(dir, "index.html"), "<!doctype html><title>app</title>");
  writeFileSync(join(dir, "graphiql.html"), "<!doctype html><title>graphiql</title>");
  writeFileSync(join(dir, "assets", "app-1.js"), "console.log(1)");
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

/** The routes as app.ts mounts them, around a stand-in for Apollo at /graphql and the API's own paths. */
async function serve(graphiql: boolean, folder = dir): Promise<string> {
  const app = express();
  app.use(graphiqlRoute(folder, graphiql));
  app.use("/graphql", (_req, res) => void res.json({ apollo: true }));
  app.get("/metrics", (_req, res) => void res.type("text/plain").send("metrics"));
  app.use(webAppRoutes(folder, graphiql));
  const server = app.listen(0, "127.0.0.1");
  servers.push(server);
  await new Promise((r) => server.once("listening", r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

const HTML = { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };
const read = async (url: string, init?: RequestInit) => {
  const res = await fetch(url, init);
  return { status: res.status, type: res.headers.get("content-type") ?? "", cache: res.headers.get("cache-control") ?? "", body: await res.text() };
};

it("answers browsers' page loads with the app (its own routes too), and leaves the API's paths and other requests alone", async () => {
  const base = await serve(true);
  expect(await read(`${base}/`, { headers: HTML })).toMatchObject({ status: 200, body: expect.stringContaining("<title>app") });
  expect(await read(`${base}/market/H100-80GB`, { headers: HTML })).toMatchObject({ status: 200, body: expect.stringContaining("<title>app"), cache: "no-cache" });
  expect(await read(`${base}/assets/app-1.js`)).toMatchObject({ status: 200, type: expect.stringMatching(/javascript/), cache: expect.stringMatching(/immutable/) });
  expect((await read(`${base}/assets/missing.js`)).status).toBe(404);
  // the API's paths never answer with the app, even to a browser
  expect(await read(`${base}/metrics`, { headers: HTML })).toMatchObject({ status: 200, body: "metrics" });
  expect((await read(`${base}/relay/v1/jobs`, { headers: HTML })).status).toBe(404);
  // a client that does not ask for HTML first (fetch, curl) gets no page for an unknown path
  expect((await read(`${base}/market/H100-80GB`)).status).toBe(404);
  expect((await read(`${base}/market/H100-80GB`, { method: "POST", headers: HTML })).status).toBe(404);
});

it("answers a browser's GET /graphql with GraphiQL when enabled; POSTs, JSON GETs and a disabled or missing GraphiQL reach Apollo", async () => {
  const on = await serve(true);
  expect(await read(`${on}/graphql`, { headers: HTML })).toMatchObject({ status: 200, body: expect.stringContaining("<title>graphiql") });
  expect(await read(`${on}/graphql?query=%7Bmarkets%7Bid%7D%7D`, { headers: { accept: "application/json" } })).toMatchObject({ body: '{"apollo":true}' });
  expect(await read(`${on}/graphql`, { method: "POST", headers: { ...HTML, "content-type": "application/json" }, body: "{}" })).toMatchObject({ body: '{"apollo":true}' });
  const off = await serve(false);
  expect(await read(`${off}/graphql`, { headers: HTML })).toMatchObject({ body: '{"apollo":true}' });
  expect((await read(`${off}/graphiql.html`, { headers: HTML })).status).toBe(404);
  expect((await read(`${on}/graphiql.html`, { headers: HTML })).status).toBe(200);
  const empty = await serve(true, join(dir, "assets"));
  expect(await read(`${empty}/graphql`, { headers: HTML })).toMatchObject({ body: '{"apollo":true}' });
  expect((await read(`${empty}/`, { headers: HTML })).status).toBe(404);
});
