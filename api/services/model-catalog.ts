import type { DataSource } from "typeorm";
import { marketGpuModels } from "../db/repositories/model.repository";

/**
 * The GPU models of existing markets (markets are born with their first offer and never go), cached in the
 * process: a hit costs nothing, a miss re-reads them (concurrent misses share one read), so a model offered a
 * moment ago through any instance is known at once.
 */
export class ModelCatalog {
  private models = new Set<string>();
  private reading: Promise<void> | undefined;

  constructor(private readonly db: DataSource) {}

  /** The known models, re-read first when one of `wanted` is missing. */
  async known(wanted: readonly string[]): Promise<ReadonlySet<string>> {
    if (wanted.every((m) => this.models.has(m))) return this.models;
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    await this.reading;
    return this.models;
  }

  private async read(): Promise<void> {
    this.models = new Set(await marketGpuModels(this.db));
  }
}
