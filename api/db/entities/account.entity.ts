import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from "typeorm";

@Entity("accounts")
export class AccountEntity {
  @PrimaryGeneratedColumn("uuid") id!: string;
  /** Lower-case 0x address. */
  @Column({ type: "varchar", length: 42 }) address!: string;
  @CreateDateColumn({ name: "created_at", type: "timestamptz" }) createdAt!: Date;
}
