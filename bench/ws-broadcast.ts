/** The baseline of the feed benchmark: a bare `ws` server broadcasting each message it is told to, to every client. */
import { WebSocketServer } from "ws";

const wss = new WebSocketServer({ port: Number(process.argv[2] ?? 0), host: "127.0.0.1" });
wss.on("listening", () => process.stdout.write(`listening ${(wss.address() as { port: number }).port}\n`));
process.stdin.setEncoding("utf8");
let buffered = "";
process.stdin.on("data", (chunk) => {
  buffered += chunk;
  const lines = buffered.split("\n");
  buffered = lines.pop() ?? "";
  for (const line of lines) if (line) for (const client of wss.clients) client.send(line);
});
