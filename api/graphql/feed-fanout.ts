import type { ExecutionResult } from "graphql";

/** What the fan-out needs of a WebSocket (ws's WebSocket has it). */
export interface FeedSocket {
  readonly readyState: number;
  /** Bytes queued on the socket and not yet handed to the kernel. */
  readonly bufferedAmount: number;
  send(data: Buffer, options: { binary: boolean }): void;
  close(code: number, reason: string): void;
  /**
   * ws's TCP socket. Without per-message compression ws writes each frame to it as it is sent, so writing whole
   * frames there keeps the order of everything sent on the connection; absent, frames go through `send`.
   */
  readonly _socket?: { write(data: Buffer): boolean };
}

/** An unmasked, final WebSocket text frame (RFC 6455 5.2) holding `payload`: what a server sends. */
export function textFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + n);
  frame[0] = 0x81;
  if (n < 126) frame[1] = n;
  else if (n < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(n), 2);
  }
  payload.copy(frame, head);
  return frame;
}

const OPEN = 1;
/** RFC 6455 "try again later": the client may reconnect, reload the snapshot and subscribe again. */
export const SLOW_CONSUMER_CLOSE = 1013;

interface Member {
  id: string;
  socket: FeedSocket;
  finish(error?: Error): void;
}

interface Group {
  key: string;
  members: Set<Member>;
  source: AsyncIterator<ExecutionResult>;
  /** Encoded payloads not yet written (events that arrived in the same turn of the event loop). */
  pending: string[];
  flushing?: NodeJS.Immediate;
}

type Started = AsyncIterable<ExecutionResult> | ExecutionResult;

const isIterable = (x: Started): x is AsyncIterable<ExecutionResult> => typeof (x as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function";

/**
 * Public feeds served once per distinct subscription rather than once per subscriber. Subscribers of the same
 * operation (same document, operation name and variables) join one group: its events are executed once, encoded
 * once, and the same frame is written to every member's socket. For feeds whose events do not depend on the caller
 * and that start with no initial value (book deltas, trades), this is what graphql-ws would send each of them. A
 * state feed (the ticker) passes `joined`, called when a member joins a running group, to have the source produce a
 * fresh state that every member receives: the newcomer's first.
 *
 * Events that arrive in one turn of the event loop (an outbox batch) leave in one write per socket.
 *
 * A member whose socket has more than `maxBufferedBytes` waiting is a slow consumer: its connection is closed
 * with 1013 rather than buffering without bound. The group's own source never waits on a socket.
 */
export class FeedFanout {
  private readonly groups = new Map<string, Group>();
  private readonly starting = new Map<string, Promise<Started>>();

  constructor(
    private readonly maxBufferedBytes: number,
    private readonly format: (result: ExecutionResult) => ExecutionResult,
    private readonly logError: (error: unknown) => void,
  ) {}

  /** Members over all groups. */
  get size(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.members.size;
    return n;
  }

  /**
   * Joins the group `key`, starting it with `start` when there is none. Returns what graphql-ws should treat as the
   * subscription: an iterator that yields nothing (frames go straight to the socket) and ends when the group does or
   * the member leaves; or `start`'s result when it is not a stream (the operation's errors).
   */
  async join(key: string, start: () => Promise<Started>, id: string, socket: FeedSocket, joined?: () => void): Promise<AsyncIterableIterator<never> | ExecutionResult> {
    let group = this.groups.get(key);
    let opened = false;
    if (!group) {
      let pending = this.starting.get(key);
      if (!pending) {
        pending = start();
        this.starting.set(key, pending);
        void pending.then(
          () => this.starting.delete(key),
          () => this.starting.delete(key),
        );
      }
      const started = await pending;
      if (!isIterable(started)) return started;
      group = this.groups.get(key);
      if (!group) {
        group = this.open(key, started);
        opened = true;
      }
    }
    const member = this.member(group, id, socket);
    // a state feed's newcomer asks the running source for a fresh state (the opener gets the source's first)
    if (!opened) joined?.();
    return member;
  }

  private open(key: string, stream: AsyncIterable<ExecutionResult>): Group {
    const group: Group = { key, members: new Set(), source: stream[Symbol.asyncIterator](), pending: [] };
    this.groups.set(key, group);
    void this.pump(group);
    return group;
  }

  private async pump(group: Group): Promise<void> {
    let failure: Error | undefined;
    try {
      for (;;) {
        const next = await group.source.next();
        if (next.done) break;
        // events that arrive together (an outbox batch) are written together: one write per socket, not one per event
        group.pending.push(JSON.stringify(this.format(next.value)));
        group.flushing ??= setImmediate(() => this.flush(group));
      }
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
      this.logError(err);
    } finally {
      if (group.flushing) clearImmediate(group.flushing);
      this.flush(group);
      if (this.groups.get(group.key) === group) this.groups.delete(group.key);
      for (const m of [...group.members]) m.finish(failure);
    }
  }

  private flush(group: Group): void {
    group.flushing = undefined;
    const payloads = group.pending;
    if (payloads.length === 0) return;
    group.pending = [];
    // per operation id: the messages as payloads (for `send`) and as one buffer of whole frames (for the socket)
    const frames = new Map<string, { messages: Buffer[]; framed: Buffer }>();
    for (const m of group.members) {
      const socket = m.socket;
      if (socket.readyState !== OPEN) continue;
      if (socket.bufferedAmount > this.maxBufferedBytes) {
        m.finish();
        socket.close(SLOW_CONSUMER_CLOSE, `fell more than ${this.maxBufferedBytes} bytes behind the feed; reconnect, reload the snapshot`);
        continue;
      }
      let batch = frames.get(m.id);
      if (!batch) {
        const head = `{"id":${JSON.stringify(m.id)},"type":"next","payload":`;
        const messages = payloads.map((p) => Buffer.from(`${head}${p}}`));
        batch = { messages, framed: Buffer.concat(messages.map(textFrame)) };
        frames.set(m.id, batch);
      }
      // one write per socket for the whole batch, with the same bytes for every subscriber of the same id
      if (socket._socket) socket._socket.write(batch.framed);
      else for (const message of batch.messages) socket.send(message, { binary: false });
    }
  }

  private member(group: Group, id: string, socket: FeedSocket): AsyncIterableIterator<never> {
    let settle: ((error?: Error) => void) | undefined;
    let outcome: { error?: Error } | undefined;
    const leave = () => {
      group.members.delete(member);
      if (group.members.size === 0 && this.groups.get(group.key) === group) {
        this.groups.delete(group.key);
        void group.source.return?.();
      }
    };
    const member: Member = {
      id,
      socket,
      finish: (error) => {
        if (outcome) return;
        outcome = { error };
        leave();
        settle?.(error);
      },
    };
    group.members.add(member);
    const iterator: AsyncIterableIterator<never> = {
      next: () =>
        outcome
          ? outcome.error
            ? Promise.reject(outcome.error)
            : Promise.resolve({ value: undefined, done: true })
          : new Promise<IteratorResult<never>>((resolve, reject) => {
              settle = (error) => (error ? reject(error) : resolve({ value: undefined, done: true }));
            }),
      return: async () => {
        member.finish();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}
