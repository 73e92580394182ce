import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from "typeorm";

/** One group of identical GPUs on a node, as registered. */
export interface NodeGpuGroup {
  /** The model as the provider reported it, e.g. 'NVIDIA H100 80GB HBM3'. */
  model: string;
  vramGb: number;
  count: number;
  /** The market these GPUs sell in, e.g. 'H100-80GB'. */
  market: string;
}

@Entity("nodes")
export class NodeEntity {
  @PrimaryGeneratedColumn("uuid") id!: string;
  @Column({ name: "provider_id", type: "uuid" }) providerId!: string;
  @Column({ type: "varchar", length: 100 }) name!: string;
  @Column({ type: "varchar", length: 32 }) region!: string;
  @Column({ type: "jsonb" }) gpus!: NodeGpuGroup[];
  @Column({ name: "cpu_cores", type: "integer", nullable: true }) cpuCores!: number | null;
  @Column({ name: "ram_gb", type: "integer", nullable: true }) ramGb!: number | null;
  @Column({ name: "agent_version", type: "varchar", length: 64, nullable: true }) agentVersion!: string | null;
  @Column({ name: "last_heartbeat_at", type: "timestamptz", nullable: true }) lastHeartbeatAt!: Date | null;
  @Column({ name: "gpu_utilization", type: "double precision", nullable: true }) gpuUtilization!: number | null;
  @Column({ name: "gpu_temperature_c", type: "double precision", nullable: true }) gpuTemperatureC!: number | null;
  @Column({ name: "measured_latency_ms", type: "double precision", nullable: true }) measuredLatencyMs!: number | null;
  @CreateDateColumn({ name: "created_at", type: "timestamptz" }) createdAt!: Date;
  @UpdateDateColumn({ name: "updated_at", type: "timestamptz" }) updatedAt!: Date;
}
