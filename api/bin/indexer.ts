import { main } from "./run";

/** The indexer alone: follows the chain into Postgres (one leader at a time by an advisory lock). */
main({ api: false, worker: false, indexer: true }, "gpu-exchange indexer");
