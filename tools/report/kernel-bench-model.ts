/** What the kernel-bench Markdown report and its HTML page script both say, kept free of Node imports for the page bundle. */
import type { KernelBenchReport, ShapeRow } from '../../src/kernel-bench/bench.js';

export const KERNEL_BENCH_DATA_ID = 'kernel-bench-data';

/** The first layer of a shape, and how many more run the same launch. */
export function layersText(s: ShapeRow): string {
  return s.layers.length === 1 ? s.layers[0]! : `${s.layers[0]} +${s.layers.length - 1}`;
}

export function kernelBenchTitle(r: KernelBenchReport): string {
  return `${r.op}: ${r.kernel} vs stock on ${r.arch} @${r.res}, batch ${r.batch}`;
}

/** The whole-network line: swapped vs stock latency and logits agreement, or why the swap did not run. */
export function networkText(r: KernelBenchReport): string {
  const n = r.network;
  if ('error' in n) return `not run: ${n.error}`;
  const delta = n.swappedMs - n.stockMs;
  return (
    `${n.swapped} ${r.op} layer(s) swapped: ${n.swappedMs.toFixed(2)} ms vs stock ${n.stockMs.toFixed(2)} ms ` +
    `(${delta >= 0 ? '+' : ''}${delta.toFixed(2)} ms, ${(n.swappedMs / n.stockMs).toFixed(2)}×); ` +
    `logits relL2 vs stock ${n.relL2.toExponential(2)} (${n.ok ? 'ok' : 'FAIL'}, bound ${n.bound})`
  );
}
