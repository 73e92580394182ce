import { main } from "./run";

/** The API alone (HTTP + WebSocket); run as many as needed behind a load balancer. */
main({ api: true, worker: false }, "gpu-exchange api");
