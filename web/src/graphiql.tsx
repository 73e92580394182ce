import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/graphiql.css";
import { createRoot } from "react-dom/client";

/**
 * GraphiQL, bundled (no CDN), served by the API at GET /graphql to browsers outside production: queries and mutations
 * over HTTP POST (application/json), subscriptions over the same path's WebSocket (graphql-ws).
 */
const url = new URL("/graphql", location.origin).toString();
const fetcher = createGraphiQLFetcher({ url, subscriptionUrl: url.replace(/^http/, "ws") });

const example = `# The markets, their best prices and free GPUs. Sign in (authChallenge, signIn) and add
# { "authorization": "Bearer <token>" } under Headers for your own jobs and nodes.
query Markets {
  markets { id bestAsk bestBid lastPrice availableGpus utilization }
}
`;

createRoot(document.getElementById("graphiql")!).render(<GraphiQL fetcher={fetcher} defaultQuery={example} />);
