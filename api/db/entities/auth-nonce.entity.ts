import { Column, Entity, PrimaryColumn } from "typeorm";
import { bigintColumn } from "../transformers";

@Entity("auth_nonces")
export class AuthNonceEntity {
  @PrimaryColumn({ type: "varchar", length: 64 }) nonce!: string;
  @Column({ type: "varchar", length: 42 }) address!: string;
  @Column({ name: "chain_id", type: "numeric", precision: 20, scale: 0, transformer: bigintColumn }) chainId!: bigint;
  @Column({ name: "issued_at", type: "timestamptz" }) issuedAt!: Date;
  @Column({ name: "expires_at", type: "timestamptz" }) expiresAt!: Date;
  @Column({ name: "consumed_at", type: "timestamptz", nullable: true }) consumedAt!: Date | null;
}
