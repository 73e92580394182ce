import { main } from "./run";

/** `npm start`: api, worker and indexer in one process for a single machine (with the dev chain when no CHAIN_RPC_URL). */
main({ api: true, worker: true, indexer: true }, "gpu-exchange");
