import type { ValueTransformer } from "typeorm";

/** numeric(78,0) <-> bigint: pg returns numeric as a string; money never passes through a float. */
export const bigintColumn: ValueTransformer = {
  to: (value: bigint | null | undefined) => (value === null || value === undefined ? value : value.toString()),
  from: (value: string | null) => (value === null ? null : BigInt(value)),
};
