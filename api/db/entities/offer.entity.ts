import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from "typeorm";
import { bigintColumn } from "../transformers";

export type OfferStatusValue = "OPEN" | "CANCELLED" | "EXPIRED";

@Entity("offers")
export class OfferEntity {
  @PrimaryGeneratedColumn("uuid") id!: string;
  /** Insertion order: the tie-breaker "earlier offer first". */
  @Column({ type: "bigint", transformer: bigintColumn, insert: false, update: false }) ordinal!: bigint;
  @Column({ name: "node_id", type: "uuid" }) nodeId!: string;
  @Column({ name: "provider_id", type: "uuid" }) providerId!: string;
  @Column({ type: "varchar", length: 48 }) market!: string;
  @Column({ name: "gpu_model", type: "varchar", length: 32 }) gpuModel!: string;
  @Column({ name: "vram_gb", type: "integer" }) vramGb!: number;
  @Column({ type: "varchar", length: 32 }) region!: string;
  @Column({ name: "price_wei", type: "numeric", precision: 78, scale: 0, transformer: bigintColumn }) priceWei!: bigint;
  @Column({ name: "gpu_count", type: "integer" }) gpuCount!: number;
  @Column({ name: "available_gpus", type: "integer" }) availableGpus!: number;
  @Column({ name: "min_duration_seconds", type: "integer", nullable: true }) minDurationSeconds!: number | null;
  @Column({ type: "varchar", length: 16 }) status!: OfferStatusValue;
  @Column({ name: "expires_at", type: "timestamptz", nullable: true }) expiresAt!: Date | null;
  @Column({ name: "client_order_id", type: "varchar", length: 64, nullable: true }) clientOrderId!: string | null;
  @Column({ name: "post_only", type: "boolean", default: false }) postOnly!: boolean;
  @Column({ name: "cancel_on_disconnect", type: "boolean", default: false }) cancelOnDisconnect!: boolean;
  /** Set while the offer is off the book because its node went silent (cancel-on-disconnect). */
  @Column({ name: "withdrawn_at", type: "timestamptz", nullable: true }) withdrawnAt!: Date | null;
  @CreateDateColumn({ name: "created_at", type: "timestamptz" }) createdAt!: Date;
  @UpdateDateColumn({ name: "updated_at", type: "timestamptz" }) updatedAt!: Date;
}
