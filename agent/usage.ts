/** The text `gpu-exchange-agent --help` prints. */
export const AGENT_USAGE = `Usage: gpu-exchange-agent --api-key KEY --region ID (--price DECIMAL | --price-floor DECIMAL --price-ceiling DECIMAL) [flags]

Runs GPU work from gpu-exchange on this machine: registers the node, keeps one offer open, runs assigned jobs,
reports progress, uploads checkpoints and results.

Flags (environment variable in brackets):
  --api URL                 GraphQL endpoint [GX_API] (default http://127.0.0.1:4000/graphql)
  --api-key KEY             provider API key [GX_API_KEY]
  --api-key-file PATH       file holding the API key, readable by its owner only [GX_API_KEY_FILE]
  --name NAME               node name, unique per provider [GX_NODE_NAME] (default: host name)
  --region ID               region of this machine [GX_REGION], e.g. eu-central
  --gpus MODEL:VRAM_GB:COUNT
                            GPUs to declare when nvidia-smi finds none; repeatable or comma-separated [GX_GPUS]
                            e.g. "NVIDIA H100 80GB HBM3:80:8"
  --price DECIMAL           fixed ask in OGPU per GPU-hour [GX_PRICE]
  --price-floor DECIMAL     follow the market's suggested price, never below this [GX_PRICE_FLOOR]
  --price-ceiling DECIMAL   ... and never above this [GX_PRICE_CEILING]
  --executor process|container
                            how jobs run [GX_EXECUTOR] (default process)
  --work-dir DIR            scratch folders of running jobs [GX_WORK_DIR] (default ~/.gpu-exchange/work)
  --allow-root              allow running as root [GX_ALLOW_ROOT=1]
  --heartbeat-s N           seconds between heartbeats [GX_HEARTBEAT_S] (default 15)
  --poll-s N                seconds between polls for assignments [GX_POLL_S] (default 5)
  --reprice-s N             seconds between offer checks and repricing [GX_REPRICE_S] (default 60)
  --max-jobs N              assignments run at once [GX_MAX_JOBS] (default 1)
  --upload-tries N          tries of each output upload while the store is unavailable, 1..20 [GX_UPLOAD_TRIES] (default 8)
  --offer-gpus N            GPUs to offer [GX_OFFER_GPUS] (default: all of the offered group)
  --log-level LEVEL         fatal, error, warn, info, debug, trace or silent [GX_LOG_LEVEL] (default info)
  --watchtower-rpc URL      watchtower mode: the chain's JSON-RPC node [GX_WATCHTOWER_RPC]; with --watchtower-key-file,
                            the agent answers open challenges of settlement batches that credit this provider with
                            the clients' signed orders (from the API; the escrow checks them) when the marketplace
                            has not answered them by its next check, so a dead or stolen settler cannot cost its pay
  --watchtower-key-file PATH
                            a file holding the 0x hex key that sends the answers and pays their gas (mode 600,
                            outside any repository; any funded account will do) [GX_WATCHTOWER_KEY_FILE]
  --watchtower-s N          seconds between watchtower checks [GX_WATCHTOWER_S] (default 30)
  -h, --help                print this text

Exit status: 0 after a clean stop (SIGTERM/SIGINT), 1 on a fatal error (root, rejected key), 78 on bad configuration.
`;
