import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { OUTBOX_NOTIFY_CHANNEL } from "../db/repositories/book.repository";
import { isConnectionFailure } from "../db/db-errors";
import { LeaderLock, type ConnectDedicated } from "../db/leader-lock";

/** Redis pub/sub channel of an outbox topic, namespaced so several deployments can share a Redis. */
export const channelOf = (prefix: string, topic: string) => `${prefix}:events:${topic}`;

const LEADER_LOCK = 0x67780001;

/**
 * Publishes committed outbox rows to Redis pub/sub in id order, then marks them published. One leader at a
 * time (a Postgres advisory lock held by its LISTEN connection; a dead leader's lock is released with its
 * connection). Woken by NOTIFY on commit, and polls as a safety net. At least once: a crash between
 * publish and mark republishes, and consumers ignore sequences they have seen. A lost connection (Postgres
 * restarted) is noticed at once and opened again on the next poll, lock and LISTEN included.
 */
export class OutboxRelay {
  private readonly lock: LeaderLock;
  private draining = false;
  private again = false;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private failing = false;

  constructor(
    connect: ConnectDedicated,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly pollMs = 1000,
  ) {
    this.lock = new LeaderLock(
      connect,
      "outbox",
      LEADER_LOCK,
      (err) => this.logger.warn({ err: { message: (err as Error).message } }, "outbox relay lost its database connection; reconnecting"),
      async (client) => {
        client.on("notification", () => void this.drain());
        await client.query(`LISTEN ${OUTBOX_NOTIFY_CHANNEL}`);
      },
    );
  }

  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.pollMs);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      if (await this.lock.lead()) await this.drain();
      if (this.failing) this.logger.info("outbox relay: publishing again");
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.logger.warn({ err: { message: (err as Error).message } }, "outbox relay cannot reach Postgres; retrying");
      this.failing = true;
    }
  }

  /** Publishes everything unpublished; safe to call often (calls during a drain coalesce into one more). */
  async drain(): Promise<void> {
    const client = this.lock.connection;
    if (!client) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = true;
    try {
      do {
        this.again = false;
        for (;;) {
          const { rows } = await client.query(`SELECT id, topic, payload FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 500`);
          if (rows.length === 0) break;
          const pipeline = this.redis.pipeline();
          for (const row of rows) pipeline.publish(channelOf(this.prefix, row.topic), JSON.stringify(row.payload));
          await pipeline.exec();
          await client.query(`UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id)]);
        }
      } while (this.again);
    } catch (err) {
      if (isConnectionFailure(err)) this.lock.lose(err);
      this.logger.warn({ err: { message: (err as Error).message } }, "outbox relay could not publish; will retry");
    } finally {
      this.draining = false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.lock.stop();
  }
}
