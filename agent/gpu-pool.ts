/** The offered GPUs' device indexes, handed to assignments and taken back when they end. */
export class GpuPool {
  private readonly free: number[];

  constructor(readonly indexes: readonly number[]) {
    this.free = [...indexes];
  }

  /** GPUs in the pool, busy or not. */
  get size(): number {
    return this.indexes.length;
  }

  /** Takes `count` free GPUs (lowest indexes first), or returns null when fewer are free. */
  take(count: number): number[] | null {
    if (count > this.free.length) return null;
    this.free.sort((a, b) => a - b);
    return this.free.splice(0, count);
  }

  /** Gives GPUs back. */
  release(indexes: readonly number[]): void {
    for (const i of indexes) if (this.indexes.includes(i) && !this.free.includes(i)) this.free.push(i);
  }
}
