/** What the kernel-bench Markdown report and its HTML page script both say, kept free of Node imports for the page bundle. */
import type { KernelBenchReport, ShapeRow } from '../../src/kernel-bench/bench.js';
import { formatAdapter } from '../../src/gpu.js';

export const KERNEL_BENCH_DATA_ID = 'kernel-bench-data';

/** The first layer of a shape, and how many more run the same launch. */
export function layersText(s: ShapeRow): string {
  return s.layers.length === 1 ? s.layers[0]! : `${s.layers[0]} +${s.layers.length - 1}`;
}

export function kernelBenchTitle(r: KernelBenchReport): string {
  return `${r.op}: ${r.kernel} vs stock on ${r.arch} @${r.res}, batch ${r.batch}${r.layers ? ` (layers ${r.layers.join(', ')})` : ''}`;
}

/** The adapter and how the times were taken: the line under the title. */
export function kernelBenchSubtitle(r: KernelBenchReport): string {
  return `${formatAdapter(r.adapter)}; ${r.timer === 'timestamp-query' ? 'GPU timestamp queries' : 'submit wall time (no timestamp-query)'}, median of ${r.runs} run(s)`;
}

/** How correctness was checked, said under the legend. */
export const CHECK_NOTE = 'Every launch ran twice on NaN-filled outputs (a slot never written, or a race, fails it).';

/** What "stock", "yours" and the ratio mean, said once above every table. */
export const LEGEND =
  '"stock" is our kernel, "yours" the one under test; yours/stock is your median GPU time over ours (below 1×: yours is faster), ' +
  'min–max the fastest and slowest timed run.';

/** The fastest and slowest run: `1.100–1.400`. */
export const spreadText = (min: number, max: number, digits = 3) => `${min.toFixed(digits)}–${max.toFixed(digits)}`;

/** A median with the fastest and slowest run: `1.234 (1.100–1.400)`. */
export function msRange(ms: number | null, min: number | null, max: number | null, digits = 3): string {
  if (ms === null) return '—';
  return min === null || max === null ? ms.toFixed(digits) : `${ms.toFixed(digits)} (${spreadText(min, max, digits)})`;
}

/** The layer-weighted total: what the kernel costs the network's layers of this op, each launch counted per layer running it. */
export function totalText(r: KernelBenchReport): string {
  const t = r.total;
  if (!t) return 'no launch was timed';
  return (
    `${t.layers} layer(s) over ${t.launches} timed launch(es), ms × layers: yours ${t.yoursMs.toFixed(3)} ms vs stock ${t.stockMs.toFixed(3)} ms ` +
    `(yours/stock ${t.ratio.toFixed(2)}×)`
  );
}

/** The whole-network line: swapped vs stock latency and logits agreement against its bound, or why it did not run. */
export function networkText(r: KernelBenchReport): string {
  const n = r.network;
  if ('skipped' in n) return `not run: ${n.skipped}`;
  if ('error' in n) return `not run (FAIL): ${n.error}`;
  const delta = n.swappedMs - n.stockMs;
  const range = ([lo, hi]: [number, number]) => `${lo.toFixed(2)}–${hi.toFixed(2)}`;
  return (
    `${n.swapped} ${r.op} layer(s) swapped: yours ${n.swappedMs.toFixed(2)} ms (${range(n.swappedRange)}) vs stock ${n.stockMs.toFixed(2)} ms (${range(n.stockRange)}) ` +
    `(${delta >= 0 ? '+' : ''}${delta.toFixed(2)} ms, yours/stock ${(n.swappedMs / n.stockMs).toFixed(2)}×); ` +
    `logits relL2 vs stock ${n.relL2.toExponential(2)} (${n.ok ? 'pass' : 'FAIL'}, bound ${n.bound})`
  );
}

/** The roofline's ceilings as measured on this adapter. */
export function ceilingsText(r: KernelBenchReport): string {
  const c = r.ceilings;
  if (!c) return 'not measured';
  return `${c.gflops.toFixed(1)} GFLOP/s (FMA chains), ${c.gbps.toFixed(1)} GB/s (copy); ${c.cached ? 'cached, ' : ''}measured ${c.measured.slice(0, 16).replace('T', ' ')} UTC`;
}

/** The verdict line: the exit code's reason. */
export function verdictText(r: KernelBenchReport): string {
  const failed = r.shapes.filter((s) => !s.theirs.ok).length;
  const n = r.network;
  const networkOk = 'skipped' in n || ('ok' in n && n.ok);
  if (r.ok) return `PASS: all ${r.shapes.length} launch(es) correct${'skipped' in n ? ' (network not run)' : ' and the network agrees with the stock one'}.`;
  return `FAIL: ${failed} of ${r.shapes.length} launch(es) incorrect${networkOk ? '' : '; the network check fails'}.`;
}
