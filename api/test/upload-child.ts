/**
 * The agent's upload client as a process of its own, for tests that kill it mid-upload:
 * `node -r @swc-node/register api/test/upload-child.ts <url> <file> <size>` uploads once (no retries) and prints the
 * answer as one JSON line.
 */
import { createHttpTransfer } from "../../agent/transfer";

const [url, file, size] = process.argv.slice(2);
createHttpTransfer({ attempts: 1 })
  .put(url, file, Number(size))
  .then(
    (answer) => process.stdout.write(`${JSON.stringify(answer)}\n`),
    (err: unknown) => {
      process.stdout.write(`${JSON.stringify({ error: String(err) })}\n`);
      process.exitCode = 1;
    },
  );
