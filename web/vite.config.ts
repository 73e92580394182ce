import { resolve } from "node:path";
import { defineConfig } from "vite";

/**
 * The web app (index.html) and GraphiQL (graphiql.html), built into dist/web, which the API serves at `/` (and at
 * GET /graphql for browsers, outside production). The SDK is bundled from its sources, as the tests import it.
 */
export default defineConfig({
  root: __dirname,
  base: "/",
  publicDir: false,
  resolve: { alias: { "@gpu-exchange/sdk": resolve(__dirname, "../sdk/src/index.ts") } },
  build: {
    outDir: resolve(__dirname, "../dist/web"),
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 2048,
    reportCompressedSize: false,
    rollupOptions: {
      // GraphiQL's React dependencies mark themselves "use client" (for React Server Components), which means nothing here
      onwarn: (warning, warn) => (warning.code === "MODULE_LEVEL_DIRECTIVE" ? undefined : warn(warning)),
      input: { app: resolve(__dirname, "index.html"), graphiql: resolve(__dirname, "graphiql.html") },
    },
  },
  server: { proxy: { "/graphql": { target: "http://localhost:4000", ws: true }, "/transfers": "http://localhost:4000" } },
});
