import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Exchange order rules: client order ids on offers and jobs (unique per account among live orders), post-only and
 * cancel-on-disconnect offers (an offer of a silent node is withdrawn from the book and comes back with the node),
 * time in force on jobs, and the indexes the per-account limits count with.
 */
export class OrderRules1765250000000 implements MigrationInterface {
  name = "OrderRules1765250000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE offers ADD COLUMN client_order_id varchar(64), ADD COLUMN post_only boolean NOT NULL DEFAULT false,
      ADD COLUMN cancel_on_disconnect boolean NOT NULL DEFAULT false, ADD COLUMN withdrawn_at timestamptz`);
    await q.query(`CREATE UNIQUE INDEX offers_client_order_idx ON offers (provider_id, client_order_id) WHERE status = 'OPEN' AND client_order_id IS NOT NULL`);
    await q.query(`CREATE INDEX offers_provider_open_idx ON offers (provider_id, market) WHERE status = 'OPEN'`);
    await q.query(`CREATE INDEX offers_provider_created_idx ON offers (provider_id, created_at)`);
    await q.query(`CREATE INDEX offers_disconnect_idx ON offers (node_id) WHERE status = 'OPEN' AND cancel_on_disconnect`);
    await q.query(`ALTER TABLE jobs ADD COLUMN client_order_id varchar(64), ADD COLUMN time_in_force varchar(8) NOT NULL DEFAULT 'GTC' CHECK (time_in_force IN ('GTC', 'IOC'))`);
    await q.query(`CREATE UNIQUE INDEX jobs_client_order_idx ON jobs (client_id, client_order_id) WHERE client_order_id IS NOT NULL AND status IN ('PENDING', 'MATCHED', 'RUNNING', 'VALIDATING')`);
    await q.query(`CREATE INDEX jobs_client_pending_idx ON jobs (client_id) WHERE status = 'PENDING'`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const index of ["jobs_client_pending_idx", "jobs_client_order_idx", "offers_disconnect_idx", "offers_provider_created_idx", "offers_provider_open_idx", "offers_client_order_idx"]) {
      await q.query(`DROP INDEX ${index}`);
    }
    await q.query(`ALTER TABLE jobs DROP COLUMN client_order_id, DROP COLUMN time_in_force`);
    await q.query(`ALTER TABLE offers DROP COLUMN client_order_id, DROP COLUMN post_only, DROP COLUMN cancel_on_disconnect, DROP COLUMN withdrawn_at`);
  }
}
