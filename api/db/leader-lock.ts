import type { Client } from "pg";

/** Opens a dedicated connection (LISTEN, advisory locks): the composition root gives each holder its factory. */
export type ConnectDedicated = (name: string) => Promise<Client>;

/**
 * A session advisory lock held on a dedicated connection, for one leader among processes. The connection is
 * watched: when it errors or ends (Postgres restarted, the network dropped) the leadership is lost at once and the
 * next `lead()` opens a new connection and takes the lock again, so a holder rides out a Postgres restart.
 */
export class LeaderLock {
  private client?: Client;
  private leading = false;
  private connecting?: Promise<Client>;

  constructor(
    private readonly connect: ConnectDedicated,
    private readonly name: string,
    private readonly lockId: number,
    /** Called once per lost connection (for a log line). */
    private readonly onLost: (err: unknown) => void = () => undefined,
    /** Called with each new connection before the lock is tried (e.g. LISTEN). */
    private readonly onConnect: (client: Client) => Promise<void> = async () => undefined,
  ) {}

  /** The connection while this process leads. */
  get connection(): Client | undefined {
    return this.leading ? this.client : undefined;
  }

  /** Whether this process leads now: connects if needed and tries the lock (never waits for it). */
  async lead(): Promise<boolean> {
    if (this.leading && this.client) return true;
    const client = this.client ?? (await this.open());
    const { rows } = await client.query("SELECT pg_try_advisory_lock($1) AS ok", [this.lockId]).catch((err) => {
      this.drop(client, err);
      throw err;
    });
    this.leading = rows[0].ok === true;
    return this.leading;
  }

  /** Gives the connection up after a failed query on it (the next `lead()` reconnects). */
  lose(err: unknown): void {
    if (this.client) this.drop(this.client, err);
  }

  async stop(): Promise<void> {
    const client = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    this.leading = false;
    await client?.end().catch(() => undefined);
  }

  private async open(): Promise<Client> {
    this.connecting ??= (async () => {
      const client = await this.connect(this.name);
      client.on("error", (err) => this.drop(client, err));
      client.on("end", () => this.drop(client, new Error("the connection ended")));
      try {
        await this.onConnect(client);
      } catch (err) {
        await client.end().catch(() => undefined);
        throw err;
      }
      this.client = client;
      return client;
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private drop(client: Client, err: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.leading = false;
    this.onLost(err);
    client.end().catch(() => undefined);
  }
}
