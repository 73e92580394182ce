import type { MigrationInterface, QueryRunner } from "typeorm";

/** The matching read model polls nodes by last heartbeat (who came online, whose measured latency changed). */
export class NodeHeartbeatIndex1765720000000 implements MigrationInterface {
  name = "NodeHeartbeatIndex1765720000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX nodes_heartbeat_idx ON nodes (last_heartbeat_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX nodes_heartbeat_idx`);
  }
}
