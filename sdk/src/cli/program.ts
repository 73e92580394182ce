import { Command, CommanderError, Option } from "commander";
import { book } from "./commands/book";
import { cancel, job, jobs } from "./commands/jobs";
import { login, logout, whoami } from "./commands/login";
import { quote } from "./commands/quote";
import { submit, type SubmitFlags } from "./commands/submit";
import { configPath } from "./config";
import { Context, type CliEnv, type Io } from "./context";
import { CliError, errorLine, EXIT, exitCodeOf } from "./exit-codes";
import { intArg, requirementOptions, type RequirementFlags } from "./options";

const VERSION = "0.1.0";

/** The gx program; each command's action runs with a {@link Context} made from the global flags. */
function program(io: Io, env: CliEnv, contexts: Context[]): Command {
  const gx = new Command("gx")
    .description("gpu-exchange from the terminal: sign in, quote, submit and follow jobs, watch a market's book")
    .version(VERSION)
    .option("--api <url>", "the GraphQL endpoint (default: $GX_API, the last one logged in to, or http://127.0.0.1:4000/graphql)")
    .option("--json", "print results as JSON")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  const ctx = () => {
    const opts = gx.opts<{ api?: string; json?: boolean }>();
    const c = new Context(io, env, configPath(env), opts.api, opts.json === true);
    contexts.push(c);
    return c;
  };

  gx.command("login")
    .description("sign in with a wallet's key file (EIP-4361) or an API key; the session is kept in the config file (mode 0600)")
    .option("--key-file <path>", "a wallet's private key (hex) or JSON keystore, readable by you alone")
    .option("--password-file <path>", "the keystore's password (else $GX_KEY_PASSWORD)")
    .option("--api-key-file <path>", "a file holding an API key, readable by you alone")
    .addOption(new Option("--api-key <key>", "an API key (shows in ps: prefer --api-key-file)"))
    .action((flags) => login(ctx(), flags));
  gx.command("logout").description("forget the credentials for the API").action(() => logout(ctx()));
  gx.command("whoami").description("the signed-in account and its escrow").action(() => whoami(ctx()));

  requirementOptions(gx.command("quote").description("what a job would cost and wait, and why offers were passed over")).action((flags: RequirementFlags) => quote(ctx(), flags));

  requirementOptions(
    gx
      .command("submit")
      .description("upload inputs, submit a job, follow its progress and logs, and download its outputs")
      .argument("[command...]", "the workload's argv (after --)")
      .option("--kind <kind>", "INFERENCE, TRAINING, FINE_TUNING, BATCH, ...", "BATCH")
      .option("--image <image>", "container image (the docker executor runs it)")
      .option("--source <id>", "a published source's id (its image, command and env)")
      .option("--env <NAME=VALUE>", "an environment variable (repeat)", (v: string, p: string[] = []) => [...p, v])
      .option("--secret-env <NAME=VALUE>", "an environment variable masked in the logs (repeat)", (v: string, p: string[] = []) => [...p, v])
      .option("--input <LOCAL[:PATH]>", "a file to upload; the job finds it at $GX_INPUT_DIR/PATH (repeat)", (v: string, p: string[] = []) => [...p, v])
      .option("--out <dir>", "where to download the outputs (default ./gx-<job id>)")
      .option("--idempotency-key <key>", "the same key again returns the first job")
      .option("--client-order-id <id>", "your own id for the job")
      .option("--time-in-force <tif>", "GTC (rest until matched) or IOC (cancel when nothing fills it at once)")
      .option("--checkpoint-interval <s>", "seconds between checkpoints", intArg)
      .option("--sign", "sign the job's order with your wallet (gx login --key-file): the chain then lets no settlement take more than its hold")
      .option("--no-follow", "print the job id and end")
      .option("--no-logs", "do not follow the logs")
      .option("--no-download", "do not download the outputs"),
  ).action((command: string[], flags: SubmitFlags) => submit(ctx(), command, flags));

  gx.command("jobs")
    .description("your jobs, newest first")
    .option("--status <status>", "PENDING, RUNNING, COMPLETED, ...")
    .option("--first <n>", "how many (1 to 100)", intArg)
    .option("--after <cursor>", "the page after this cursor")
    .action((flags) => jobs(ctx(), flags));
  gx.command("job").description("a job's state, result and outputs").argument("<id>").action((id: string) => job(ctx(), id));
  gx.command("cancel").description("cancel a PENDING or MATCHED job (its hold is released)").argument("<id>").action((id: string) => cancel(ctx(), id));
  gx.command("book")
    .description("a market's order book, live, as a depth view")
    .argument("<market>", "a market id such as H100-80GB")
    .option("--depth <n>", "levels shown per side", intArg, 15)
    .option("--once", "print the book once and end")
    .action((market: string, flags: { depth: number; once?: boolean }) => book(ctx(), market, flags));
  return gx;
}

/** Runs gx with `argv` (without node and the script); resolves with the exit status. Errors print the server's code and message. */
export async function runGx(argv: string[], io: Io, env: CliEnv): Promise<number> {
  const contexts: Context[] = [];
  try {
    await program(io, env, contexts).parseAsync(argv, { from: "user" });
    return EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.exitCode === 0) return EXIT.OK;
      return EXIT.BAD_INPUT;
    }
    io.err(`gx: ${errorLine(err)}\n`);
    return exitCodeOf(err);
  } finally {
    await Promise.all(contexts.map((c) => c.close()));
  }
}

export { CliError };
