import type { Redis } from "ioredis";
import { Client } from "pg";
import type { Logger } from "pino";
import { OUTBOX_NOTIFY_CHANNEL } from "../db/repositories/book.repository";

/** Redis pub/sub channel of an outbox topic, namespaced so several deployments can share a Redis. */
export const channelOf = (prefix: string, topic: string) => `${prefix}:events:${topic}`;

const LEADER_LOCK = 0x67780001;

/**
 * Publishes committed outbox rows to Redis pub/sub in id order, then marks them published. One leader at a
 * time (a Postgres advisory lock held by its LISTEN connection; a dead leader's lock is released with its
 * connection). Woken by NOTIFY on commit, and polls as a safety net. At least once: a crash between
 * publish and mark republishes, and consumers ignore sequences they have seen.
 */
export class OutboxRelay {
  private client?: Client;
  private leader = false;
  private draining = false;
  private again = false;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly pollMs = 1000,
  ) {}

  async start(): Promise<void> {
    await this.connect();
    this.timer = setInterval(() => void this.tick(), this.pollMs);
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.databaseUrl, application_name: "gpu-exchange-outbox" });
    client.on("error", (err) => {
      this.logger.warn({ err }, "outbox relay lost its database connection; reconnecting");
      this.leader = false;
      this.client = undefined;
    });
    client.on("notification", () => void this.drain());
    await client.connect();
    await client.query(`LISTEN ${OUTBOX_NOTIFY_CHANNEL}`);
    this.client = client;
  }

  private async tick(): Promise<void> {
    try {
      if (!this.client && !this.stopped) await this.connect();
      if (!this.leader && this.client) {
        const [row] = (await this.client.query("SELECT pg_try_advisory_lock($1) AS ok", [LEADER_LOCK])).rows;
        this.leader = row.ok === true;
      }
      await this.drain();
    } catch (err) {
      this.logger.warn({ err }, "outbox relay tick failed; retrying");
    }
  }

  /** Publishes everything unpublished; safe to call often (calls during a drain coalesce into one more). */
  async drain(): Promise<void> {
    if (!this.leader || !this.client) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = true;
    try {
      do {
        this.again = false;
        for (;;) {
          const { rows } = await this.client.query(`SELECT id, topic, payload FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 500`);
          if (rows.length === 0) break;
          const pipeline = this.redis.pipeline();
          for (const row of rows) pipeline.publish(channelOf(this.prefix, row.topic), JSON.stringify(row.payload));
          await pipeline.exec();
          await this.client.query(`UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id)]);
        }
      } while (this.again);
    } catch (err) {
      this.logger.warn({ err }, "outbox relay could not publish; will retry");
    } finally {
      this.draining = false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.client?.end().catch(() => undefined);
  }
}
