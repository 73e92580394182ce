import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Signed orders (Escrow's EIP-712 Order): the nonces the API issues per client (sequential, so a batch marks many in
 * one storage word), and each job's order as its client signed it, which settlement marks and a challenge answers.
 */
export class SignedOrders1765800000000 implements MigrationInterface {
  name = "SignedOrders1765800000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE order_nonces (
        account_id uuid PRIMARY KEY REFERENCES accounts(id),
        next_nonce numeric(78, 0) NOT NULL CHECK (next_nonce >= 0)
      )`);
    await q.query(`
      CREATE TABLE job_orders (
        job_id uuid PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
        client_id uuid NOT NULL REFERENCES accounts(id),
        chain_id numeric(78, 0) NOT NULL,
        escrow text NOT NULL,
        nonce numeric(78, 0) NOT NULL CHECK (nonce >= 0),
        max_cost_wei numeric(78, 0) NOT NULL CHECK (max_cost_wei >= 0),
        market text NOT NULL,
        expiry bigint NOT NULL,
        signature text NOT NULL,
        digest text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT job_orders_nonce_key UNIQUE (client_id, chain_id, escrow, nonce)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE job_orders`);
    await q.query(`DROP TABLE order_nonces`);
  }
}
