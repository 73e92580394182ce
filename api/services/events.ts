/** Live events published from committed state (the outbox), keyed within a topic (a job id, a node id, a market). */
export interface EventStreams {
  /** Events of `topic` whose key is `key`, from now on, until the consumer stops (or falls too far behind). */
  listen<T>(topic: string, key: string): AsyncIterableIterator<T>;
}

/** Streams nothing (processes without an API role, unit tests). */
export const NO_EVENTS: EventStreams = {
  listen<T>(): AsyncIterableIterator<T> {
    return (async function* () {})() as AsyncIterableIterator<T>;
  },
};
