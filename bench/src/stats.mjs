// Summary statistics for repeated runs: median, percentiles, spread.
// Invariant: pure functions over numbers; nulls (a contender that could not run) pass through as null.

/** Median of the non-null values, or null when there are none (a peer that could not run). */
export function median(values) {
  const xs = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** Nearest-rank percentile of an already sorted array (p in 0..100). */
export function percentileSorted(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** p50 and p99 of a latency sample (any order); a Float64Array sorts numerically. */
export function latencySummary(samples) {
  const sorted = Float64Array.from(samples).sort();
  return { p50: percentileSorted(sorted, 50), p99: percentileSorted(sorted, 99), n: sorted.length };
}

/** min and max of the non-null values, for the spread column. */
export function spread(values) {
  const xs = values.filter((v) => typeof v === 'number' && Number.isFinite(v));
  if (xs.length === 0) return null;
  return { min: Math.min(...xs), max: Math.max(...xs) };
}

/** a / b, or null when either side is missing or b is zero. */
export function ratio(a, b) {
  if (typeof a !== 'number' || typeof b !== 'number' || b === 0) return null;
  return a / b;
}
