/** The one quantile helper: profiling, the peer benchmark and the kernel benchmark all summarise samples with it. */

/** Linear interpolation between the closest ranks of an ascending list (the median of an even count is the middle pair's mean). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = q * (sorted.length - 1);
  const lo = Math.floor(i);
  return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (i - lo);
}

export interface Spread {
  median: number;
  p10: number;
  p90: number;
}

/** Median, 10th and 90th percentile of unsorted samples. */
export function spread(xs: readonly number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), p10: quantile(s, 0.1), p90: quantile(s, 0.9) };
}

export const median = (xs: readonly number[]): number => quantile([...xs].sort((a, b) => a - b), 0.5);
