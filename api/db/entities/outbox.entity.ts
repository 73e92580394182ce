import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from "typeorm";

@Entity("outbox")
export class OutboxEntity {
  @PrimaryGeneratedColumn({ type: "bigint" }) id!: string;
  @Column({ type: "varchar", length: 128 }) topic!: string;
  @Column({ type: "jsonb" }) payload!: Record<string, unknown>;
  @CreateDateColumn({ name: "created_at", type: "timestamptz" }) createdAt!: Date;
  @Column({ name: "published_at", type: "timestamptz", nullable: true }) publishedAt!: Date | null;
}
