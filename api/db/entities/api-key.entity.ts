import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from "typeorm";

@Entity("api_keys")
export class ApiKeyEntity {
  @PrimaryGeneratedColumn("uuid") id!: string;
  @Column({ name: "account_id", type: "uuid" }) accountId!: string;
  @Column({ type: "varchar", length: 100 }) name!: string;
  @Column({ type: "varchar", length: 16 }) prefix!: string;
  /** sha256 of the secret, hex; the secret itself is never stored. */
  @Column({ name: "secret_hash", type: "char", length: 64 }) secretHash!: string;
  @CreateDateColumn({ name: "created_at", type: "timestamptz" }) createdAt!: Date;
  @Column({ name: "last_used_at", type: "timestamptz", nullable: true }) lastUsedAt!: Date | null;
  @Column({ name: "revoked_at", type: "timestamptz", nullable: true }) revokedAt!: Date | null;
}
