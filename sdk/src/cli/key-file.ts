import { readFile, stat } from "node:fs/promises";
import { Wallet } from "ethers";
import { CliError, EXIT } from "./exit-codes";

/** Reads a file that holds a secret, refused (as ssh refuses keys) when group or others may read or write it. */
export async function readPrivateFile(path: string, what: string): Promise<string> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new CliError(EXIT.BAD_INPUT, `cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!info.isFile()) throw new CliError(EXIT.BAD_INPUT, `the ${what} ${path} is not a regular file`);
  if ((info.mode & 0o077) !== 0) {
    throw new CliError(EXIT.BAD_INPUT, `the ${what} ${path} is accessible by group or others (mode ${(info.mode & 0o777).toString(8)}); make it private: chmod 600 ${path}`);
  }
  const text = (await readFile(path, "utf8")).trim();
  if (text === "") throw new CliError(EXIT.BAD_INPUT, `the ${what} ${path} is empty`);
  return text;
}

/**
 * A wallet from a key file: a hex private key (64 hex digits, 0x optional) or an encrypted JSON keystore (geth,
 * ethers), whose password is given by `password`.
 */
export async function readWalletKeyFile(path: string, password: () => Promise<string | undefined>): Promise<Wallet> {
  const text = await readPrivateFile(path, "key file");
  if (/^(0x)?[0-9a-fA-F]{64}$/.test(text)) return new Wallet(text.startsWith("0x") ? text : `0x${text}`);
  if (text.startsWith("{")) {
    const pass = await password();
    if (pass === undefined) throw new CliError(EXIT.BAD_INPUT, `${path} is an encrypted keystore: give its password with --password-file or GX_KEY_PASSWORD`);
    try {
      const wallet = await Wallet.fromEncryptedJson(text, pass);
      return new Wallet(wallet.privateKey);
    } catch (err) {
      throw new CliError(EXIT.AUTH, `cannot open the keystore ${path}: ${(err as Error).message}`);
    }
  }
  throw new CliError(EXIT.BAD_INPUT, `${path} holds neither a hex private key nor a JSON keystore`);
}
