import { existsSync } from "node:fs";
import { resolve } from "node:path";
import express, { Router, type Request } from "express";

/** Paths of the API itself: never answered with the web app, whatever the request accepts. */
const API_PATHS = /^\/(graphql|relay|transfers|metrics|healthz|readyz|admin)(\/|$)/;

/** A browser's navigation (it asks for HTML first), as opposed to fetch, curl or Apollo's GET queries. */
export function wantsHtml(req: Request): boolean {
  return (req.method === "GET" || req.method === "HEAD") && req.accepts(["json", "html"]) === "html";
}

/**
 * GraphiQL at GET /graphql for browsers (outside production): the page built into `dir` (web/graphiql.html). Any
 * other request, POSTs and GETs asking for JSON included, goes on to Apollo unchanged (its CSRF prevention as well).
 */
export function graphiqlRoute(dir: string, enabled: boolean): Router {
  const router = Router();
  const page = resolve(dir, "graphiql.html");
  if (!enabled || !existsSync(page)) return router;
  router.get("/graphql", (req, res, next) => (wantsHtml(req) ? res.sendFile(page) : next()));
  return router;
}

/**
 * The web app (web/, built by Vite into `dir`): its files at `/` (hashed assets cached for good), and index.html for
 * any other browser navigation that is not an API path (the app's own routes: /market/H100-80GB, /jobs/ID). Nothing
 * when `dir` has no index.html (a build without the web app). Without GraphiQL (production), its page is not served.
 */
export function webAppRoutes(dir: string, graphiql = true): Router {
  const router = Router();
  const index = resolve(dir, "index.html");
  if (!existsSync(index)) return router;
  if (!graphiql) router.use("/graphiql.html", (_req, res) => void res.status(404).end());
  router.use("/assets", express.static(resolve(dir, "assets"), { immutable: true, maxAge: "365d", fallthrough: false }));
  router.use(express.static(dir, { index: false, redirect: false }));
  router.use((req, res, next) => (wantsHtml(req) && !API_PATHS.test(req.path) ? res.set("cache-control", "no-cache").sendFile(index) : next()));
  return router;
}
