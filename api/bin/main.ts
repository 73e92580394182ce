import { main } from "./run";

/** `npm start`: api, worker (and, later, indexer and dev chain) in one process for a single machine. */
main({ api: true, worker: true }, "gpu-exchange");
