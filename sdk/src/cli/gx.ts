#!/usr/bin/env node
/** The gx command: reads the environment and the terminal, runs, and exits with a status that means something. */
import { runGx } from "./program";

const io = {
  out: (text: string) => void process.stdout.write(text),
  err: (text: string) => void process.stderr.write(text),
  errIsTty: process.stderr.isTTY === true,
  outIsTty: process.stdout.isTTY === true,
  columns: process.stdout.columns ?? 80,
};
const { GX_CONFIG, GX_API, GX_API_KEY, GX_KEY_PASSWORD, HOME, XDG_CONFIG_HOME } = process.env;

runGx(process.argv.slice(2), io, { GX_CONFIG, GX_API, GX_API_KEY, GX_KEY_PASSWORD, HOME, XDG_CONFIG_HOME }).then(
  (code) => {
    process.exitCode = code;
    // the sockets are closed; stdout drains before the exit
    process.stdout.write("", () => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(`gx: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
