#!/usr/bin/env node
import os from "node:os";
import { startAgent } from "./agent";
import { AgentConfigError, isHelpRequested, parseAgentConfig, rootRefusal } from "./config";
import { errorText } from "./error-text";
import { readApiKeyFile } from "./key-file";
import { createAgentLogger } from "./logger";
import { AGENT_USAGE } from "./usage";

/** Exit status for bad configuration (EX_CONFIG). */
const EX_CONFIG = 78;

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (isHelpRequested(argv)) {
    process.stdout.write(AGENT_USAGE);
    return 0;
  }
  const env = process.env;
  let config;
  let apiKey: string;
  try {
    config = parseAgentConfig(argv, env, { hostname: os.hostname(), homeDir: os.homedir(), cwd: process.cwd() });
    const refusal = rootRefusal(process.getuid?.(), config.allowRoot);
    if (refusal) {
      process.stderr.write(`gpu-exchange-agent: ${refusal}\n`);
      return 1;
    }
    apiKey = config.apiKey ?? (await readApiKeyFile(config.apiKeyFile as string));
  } catch (err) {
    if (err instanceof AgentConfigError) {
      process.stderr.write(`gpu-exchange-agent: ${err.message}\n`);
      return EX_CONFIG;
    }
    throw err;
  }

  const logger = createAgentLogger(config.logLevel);
  const abort = new AbortController();
  let stopRequested = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopRequested = true;
    logger.info({ signal }, "stop requested");
    abort.abort();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  let agent;
  try {
    agent = await startAgent(
      {
        config,
        apiKey,
        logger,
        host: {
          PATH: env.PATH,
          LANG: env.LANG,
          HOME: env.HOME,
          engine: Object.fromEntries(
            ["DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "CONTAINER_HOST", "XDG_RUNTIME_DIR"].flatMap((n) => (env[n] ? [[n, env[n] as string]] : [])),
          ),
        },
        uid: process.getuid?.() ?? 0,
        gid: process.getgid?.() ?? 0,
      },
      abort.signal,
    );
  } catch (err) {
    if (err instanceof AgentConfigError) {
      logger.fatal(err.message);
      return EX_CONFIG;
    }
    if (stopRequested) return 0;
    logger.fatal({ err: errorText(err) }, "the agent could not start");
    return 1;
  }

  const stopped = new Promise<"signal">((resolve) => {
    if (abort.signal.aborted) resolve("signal");
    abort.signal.addEventListener("abort", () => resolve("signal"), { once: true });
  });
  const why = await Promise.race([stopped, agent.fatal.then((err) => err)]);
  if (why !== "signal") logger.fatal({ err: errorText(why) }, "the API refused the key; stopping");
  await agent.stop();
  return why === "signal" ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`gpu-exchange-agent: ${errorText(err)}\n`);
    process.exit(1);
  },
);
