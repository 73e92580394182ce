/**
 * Splits [from, to] into consecutive ranges of at most `span` blocks, in order. Empty when from > to.
 * Throws RangeError for a span below 1.
 */
export function splitRange(from: bigint, to: bigint, span: bigint): [bigint, bigint][] {
  if (span < 1n) throw new RangeError("span must be at least 1 block");
  const ranges: [bigint, bigint][] = [];
  for (let start = from; start <= to; start += span) {
    const end = start + span - 1n;
    ranges.push([start, end < to ? end : to]);
  }
  return ranges;
}

/** Halves a range that a provider refused (too many logs); a single block cannot be split. */
export function halve(from: bigint, to: bigint): [bigint, bigint][] | undefined {
  if (from >= to) return undefined;
  const mid = from + (to - from) / 2n;
  return [
    [from, mid],
    [mid + 1n, to],
  ];
}

/** The next range to index: after the cursor, up to the head less `confirmations` and at most `span` blocks. */
export function nextRange(cursor: bigint | undefined, startBlock: bigint, head: bigint, span: bigint): [bigint, bigint] | undefined {
  const from = cursor === undefined ? startBlock : cursor + 1n;
  if (from > head) return undefined;
  const to = from + span - 1n;
  return [from, to < head ? to : head];
}
