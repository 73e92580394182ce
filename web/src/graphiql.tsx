import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/graphiql.css";
import { buildSchema } from "graphql";
import { createRoot } from "react-dom/client";
import sdl from "../../schema.graphql?raw";

/**
 * GraphiQL, bundled (no CDN), served by the API at GET /graphql to browsers outside production: queries and mutations
 * over HTTP POST (application/json), subscriptions over the same path's WebSocket (graphql-ws). The schema is the
 * committed schema.graphql, bundled: GraphiQL's introspection query is deeper and longer than the API's query limits
 * allow (GRAPHQL_MAX_DEPTH, _TOKENS), and the limits stay as they are for everyone.
 */
const url = new URL("/graphql", location.origin).toString();
const fetcher = createGraphiQLFetcher({ url, subscriptionUrl: url.replace(/^http/, "ws") });

const example = `# The markets, their best prices and free GPUs. Sign in (authChallenge, signIn) and add
# { "authorization": "Bearer <token>" } under Headers for your own jobs and nodes.
query Markets {
  markets { id bestAsk bestBid lastPrice availableGpus utilization }
}
`;

createRoot(document.getElementById("graphiql")!).render(<GraphiQL fetcher={fetcher} schema={buildSchema(sdl)} defaultQuery={example} />);
