import { Column, CreateDateColumn, Entity, PrimaryColumn } from "typeorm";
import { bigintColumn } from "../transformers";

@Entity("markets")
export class MarketEntity {
  @PrimaryColumn({ type: "varchar", length: 48 }) id!: string;
  @Column({ name: "gpu_model", type: "varchar", length: 32 }) gpuModel!: string;
  @Column({ name: "vram_gb", type: "integer" }) vramGb!: number;
  /** +1 for every change of this market's book. */
  @Column({ type: "bigint", transformer: bigintColumn }) sequence!: bigint;
  @CreateDateColumn({ name: "created_at", type: "timestamptz" }) createdAt!: Date;
}
