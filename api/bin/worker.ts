import { main } from "./run";

/** The worker alone: outbox relay and BullMQ queues; run more to scale out. */
main({ api: false, worker: true }, "gpu-exchange worker");
