import type { TypedDataSigner } from "../order";
import { isAbsolute, resolve } from "node:path";
import { apiKeyAuth, walletAuth, type MessageSigner, type Session } from "../auth";
import type { ExchangeClient } from "../client";
import { createNodeClient } from "../node";
import { readConfig, writeConfig, type Credentials } from "./config";
import { CliError, EXIT } from "./exit-codes";
import { readPrivateFile, readWalletKeyFile } from "./key-file";

/** Where gx writes: results to stdout, progress and messages to stderr. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stderr is a terminal: progress bars redraw in place; otherwise they print a line now and then. */
  errIsTty: boolean;
  /** stdout is a terminal: the live book view redraws the screen; otherwise it prints a block per change. */
  outIsTty: boolean;
  /** Terminal width for the book view. */
  columns: number;
}

/** The environment gx reads (only gx.ts reads process.env). */
export interface CliEnv {
  GX_CONFIG?: string;
  GX_API?: string;
  GX_API_KEY?: string;
  GX_KEY_PASSWORD?: string;
  HOME?: string;
  XDG_CONFIG_HOME?: string;
}

export const DEFAULT_API = "http://127.0.0.1:4000/graphql";

/** An API address as gx uses it: `/graphql` added to a bare origin. */
export function normalizeApi(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CliError(EXIT.BAD_INPUT, `--api: not a URL: ${url}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new CliError(EXIT.BAD_INPUT, `--api: use http or https, not ${u.protocol}`);
  if (u.pathname === "/" || u.pathname === "") u.pathname = "/graphql";
  return u.toString();
}

/** What every command gets: where to write, the config file, the API, and clients signed in as the config says. */
export class Context {
  private readonly clients: ExchangeClient[] = [];
  private readonly writes: Promise<void>[] = [];

  constructor(
    readonly io: Io,
    readonly env: CliEnv,
    readonly configFile: string,
    private readonly apiFlag: string | undefined,
    readonly json: boolean,
  ) {}

  /** The API: --api, else GX_API, else the config's (the last logged in to), else the local default. */
  async api(): Promise<string> {
    const given = this.apiFlag ?? this.env.GX_API;
    if (given) return normalizeApi(given);
    return normalizeApi((await readConfig(this.configFile)).api ?? DEFAULT_API);
  }

  /** Stores the credentials for `api` and makes it the default. */
  async saveCredentials(api: string, credentials: Credentials | undefined): Promise<void> {
    const config = await readConfig(this.configFile);
    if (credentials) config.servers[api] = credentials;
    else delete config.servers[api];
    config.api = api;
    await writeConfig(this.configFile, config);
  }

  /** A client without credentials (public operations). */
  anonymous(api: string): ExchangeClient {
    return this.track(createNodeClient({ url: api }));
  }

  /**
   * A client signed in as the config says for the API (GX_API_KEY wins). A wallet's session is renewed from its key
   * file when it expires, and the new session stored. Throws exit 3 when there are no credentials and `required`.
   */
  async client(required = true): Promise<ExchangeClient> {
    const api = await this.api();
    if (this.env.GX_API_KEY) return this.track(createNodeClient({ url: api, auth: apiKeyAuth(this.env.GX_API_KEY) }));
    const credentials = (await readConfig(this.configFile)).servers[api];
    if (!credentials) {
      if (required) throw new CliError(EXIT.AUTH, `not logged in to ${api}: run gx login --key-file FILE (a wallet) or gx login --api-key-file FILE`);
      return this.anonymous(api);
    }
    if (credentials.kind === "apiKey") return this.track(createNodeClient({ url: api, auth: apiKeyAuth(credentials.apiKey) }));
    const signer = this.keyFileSigner(credentials);
    const auth = walletAuth({
      signer,
      chainId: null,
      session: credentials.session,
      onSession: (session) => this.writes.push(this.saveCredentials(api, { ...credentials, session }).catch(() => undefined)),
    });
    return this.track(createNodeClient({ url: api, auth }));
  }

  /** A signer that reads the key file only when a signature is needed (a session to renew). */
  keyFileSigner(credentials: Extract<Credentials, { kind: "wallet" }>): MessageSigner {
    return {
      getAddress: async () => credentials.address,
      signMessage: async (message) => (await readWalletKeyFile(credentials.keyFile, () => this.keyPassword(credentials.passwordFile))).signMessage(message),
    };
  }

  /** The logged-in wallet, to sign a job's order; exit 3 when gx is logged in with an API key (which cannot sign). */
  async typedDataSigner(): Promise<TypedDataSigner> {
    const credentials = (await readConfig(this.configFile)).servers[await this.api()];
    if (this.env.GX_API_KEY || credentials?.kind !== "wallet") throw new CliError(EXIT.AUTH, "--sign needs a wallet: run gx login --key-file FILE (an API key cannot sign orders)");
    return readWalletKeyFile(credentials.keyFile, () => this.keyPassword(credentials.passwordFile));
  }

  /** A keystore's password: from its password file, else GX_KEY_PASSWORD. */
  async keyPassword(passwordFile: string | undefined): Promise<string | undefined> {
    if (passwordFile) return readPrivateFile(passwordFile, "password file");
    return this.env.GX_KEY_PASSWORD;
  }

  /** An absolute path (kept in the config, so gx finds the file from anywhere). */
  absolute(path: string): string {
    return isAbsolute(path) ? path : resolve(path);
  }

  /** Waits for config writes and closes the sockets. */
  async close(): Promise<void> {
    await Promise.all(this.writes);
    await Promise.all(this.clients.map((c) => c.close().catch(() => undefined)));
  }

  private track(client: ExchangeClient): ExchangeClient {
    this.clients.push(client);
    return client;
  }
}

export type { Session };
