import { DataSource } from "typeorm";
import { AccountEntity } from "./entities/account.entity";
import { ApiKeyEntity } from "./entities/api-key.entity";
import { AuthNonceEntity } from "./entities/auth-nonce.entity";
import { MarketEntity } from "./entities/market.entity";
import { NodeEntity } from "./entities/node.entity";
import { OfferEntity } from "./entities/offer.entity";
import { OutboxEntity } from "./entities/outbox.entity";
import { Foundation1764000000000 } from "./migrations/1764000000000-foundation";
import { Jobs1764100000000 } from "./migrations/1764100000000-jobs";
import { Lifecycle1764200000000 } from "./migrations/1764200000000-lifecycle";
import { Chain1764300000000 } from "./migrations/1764300000000-chain";
import { Settlement1764400000000 } from "./migrations/1764400000000-settlement";
import { Stakes1764500000000 } from "./migrations/1764500000000-stakes";
import { Slashes1764600000000 } from "./migrations/1764600000000-slashes";
import { ChainHolds1764700000000 } from "./migrations/1764700000000-chain-holds";
import { Sources1764800000000 } from "./migrations/1764800000000-sources";
import { Relay1764900000000 } from "./migrations/1764900000000-relay";
import { MinBilledSeconds1765100000000 } from "./migrations/1765100000000-min-billed-seconds";
import { Artifacts1765200000000 } from "./migrations/1765200000000-artifacts";
import { OrderRules1765250000000 } from "./migrations/1765250000000-order-rules";
import { WithdrawalsDebts1765600000000 } from "./migrations/1765600000000-withdrawals-debts";
import { ChainLedger1765710000000 } from "./migrations/1765710000000-chain-ledger";
import { NodeHeartbeatIndex1765720000000 } from "./migrations/1765720000000-node-heartbeat-index";
import { SignedOrders1765800000000 } from "./migrations/1765800000000-signed-orders";
import { SpendingAllowances1765900000000 } from "./migrations/1765900000000-spending-allowances";
import { ChainTime1766000000000 } from "./migrations/1766000000000-chain-time";
import { UsdRates1765000000000 } from "./migrations/1765000000000-usd-rates";

export const ENTITIES = [AccountEntity, AuthNonceEntity, ApiKeyEntity, NodeEntity, MarketEntity, OfferEntity, OutboxEntity];
export const MIGRATIONS = [Foundation1764000000000, Jobs1764100000000, Lifecycle1764200000000, Chain1764300000000, Settlement1764400000000, Stakes1764500000000, Slashes1764600000000, ChainHolds1764700000000, Sources1764800000000, Relay1764900000000, UsdRates1765000000000, MinBilledSeconds1765100000000, Artifacts1765200000000, OrderRules1765250000000, WithdrawalsDebts1765600000000, ChainLedger1765710000000, NodeHeartbeatIndex1765720000000, SignedOrders1765800000000, SpendingAllowances1765900000000, ChainTime1766000000000];

/** How long a request waits for a pooled connection before it is answered UNAVAILABLE (it never hangs on a full pool). */
export const POOL_WAIT_MS = 5000;
/** A session idle inside a transaction this long is ended by Postgres (a backstop: nothing may hold a connection idle). */
export const IDLE_IN_TRANSACTION_MS = 60_000;

/** The one DataSource shape of the app, the CLI and the tests: explicit entities, migrations only. */
export function createDataSource(url: string, poolSize = 20): DataSource {
  return new DataSource({
    type: "postgres",
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
    logging: false,
    extra: { max: poolSize, application_name: "gpu-exchange", connectionTimeoutMillis: POOL_WAIT_MS, idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS, keepAlive: true },
  });
}
