import { walletAuth } from "../../auth";
import { MeDocument } from "../../generated/graphql";
import { createNodeClient, apiKeyAuth } from "../../node";
import type { Context } from "../context";
import { CliError, EXIT } from "../exit-codes";
import { readPrivateFile, readWalletKeyFile } from "../key-file";

/** Flags of `gx login`. */
export interface LoginFlags {
  keyFile?: string;
  passwordFile?: string;
  apiKey?: string;
  apiKeyFile?: string;
}

/**
 * `gx login`: with a wallet's key file, signs in (EIP-4361) and stores the session and the key file's path (never
 * the key); with an API key, checks it and stores it. The config file is written with mode 0600.
 */
export async function login(ctx: Context, flags: LoginFlags): Promise<void> {
  const given = [flags.keyFile, flags.apiKey, flags.apiKeyFile].filter((f) => f !== undefined).length;
  if (given !== 1) throw new CliError(EXIT.BAD_INPUT, "give one of --key-file (a wallet), --api-key-file or --api-key");
  const api = await ctx.api();
  if (flags.keyFile !== undefined) {
    const keyFile = ctx.absolute(flags.keyFile);
    const passwordFile = flags.passwordFile === undefined ? undefined : ctx.absolute(flags.passwordFile);
    const wallet = await readWalletKeyFile(keyFile, () => ctx.keyPassword(passwordFile));
    const auth = walletAuth({ signer: wallet, chainId: null });
    const client = createNodeClient({ url: api, auth });
    try {
      const session = await auth.signIn();
      await ctx.saveCredentials(api, { kind: "wallet", address: wallet.address, keyFile, passwordFile, session });
      if (ctx.json) ctx.io.out(`${JSON.stringify({ api, address: session.address, expiresAt: session.expiresAt })}\n`);
      else ctx.io.out(`logged in to ${api} as ${session.address} (session until ${session.expiresAt}; renewed from ${keyFile})\n`);
    } finally {
      await client.close();
    }
    return;
  }
  const apiKey = flags.apiKey ?? (await readPrivateFile(ctx.absolute(flags.apiKeyFile!), "API key file"));
  const client = createNodeClient({ url: api, auth: apiKeyAuth(apiKey) });
  try {
    const { me } = await client.request(MeDocument, {});
    await ctx.saveCredentials(api, { kind: "apiKey", apiKey });
    if (ctx.json) ctx.io.out(`${JSON.stringify({ api, address: me.address })}\n`);
    else ctx.io.out(`logged in to ${api} as ${me.address} (API key)\n`);
  } finally {
    await client.close();
  }
}

/** `gx logout`: forgets the credentials for the API. */
export async function logout(ctx: Context): Promise<void> {
  const api = await ctx.api();
  await ctx.saveCredentials(api, undefined);
  ctx.io.out(`logged out of ${api}\n`);
}

/** `gx whoami`: the signed-in account and its escrow. */
export async function whoami(ctx: Context): Promise<void> {
  const client = await ctx.client();
  const { me } = await client.request(MeDocument, {});
  if (ctx.json) return void ctx.io.out(`${JSON.stringify(me)}\n`);
  ctx.io.out(`${me.address}\nescrow: ${me.escrow.available} OGPU available, ${me.escrow.held} held, ${me.escrow.deposited} deposited\n`);
}
