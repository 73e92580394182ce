import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The chain's time as the settlement runner last read it (its latest block's timestamp, unix seconds), beside the
 * escrow's challenge window: a windowed batch's credits are claimable once the chain's time has reached the batch's
 * settledAt plus the window, and the API counts them as settled from then (one writer: syncAllowances).
 */
export class ChainTime1766000000000 implements MigrationInterface {
  name = "ChainTime1766000000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE escrow_windows ADD COLUMN chain_time bigint`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE escrow_windows DROP COLUMN chain_time`);
  }
}
