/**
 * `effnet kernel-bench`'s Markdown report (the terminal's); its HTML page is tools/report/html.ts's, drawn by
 * tools/report/kernel-bench-page.ts. "stock" is our kernel, "yours" the user's; the model's launches and the
 * generated edge launches are separate tables, each row naming its launch's overrides.
 */
import type { KernelBenchReport, ShapeRow } from '../../src/kernel-bench/bench.js';
import { formatAdapter } from '../../src/gpu.js';
import { kernelBenchTitle, layersText } from './kernel-bench-model.js';

const ms = (v: number | null) => (v === null ? '—' : v.toFixed(3));
const rate = (v: number | null) => (v === null ? '—' : v.toFixed(2));
// A report read back from JSON (the Chromium page's) has null where the error was NaN.
const err = (v: number | null) => (v === null || Number.isNaN(v) ? '—' : v.toExponential(2));
const verdict = (s: ShapeRow) => (s.theirs.ok ? 'pass' : 'FAIL');

/** The whole-network line: swapped vs stock latency and logits agreement against the bound it is held to, or why it did not run. */
function networkLine(r: KernelBenchReport): string {
  const n = r.network;
  if ('error' in n) return `not run (FAIL): ${n.error}`;
  const delta = n.swappedMs - n.stockMs;
  return (
    `${n.swapped} ${r.op} layer(s) swapped: yours ${n.swappedMs.toFixed(2)} ms vs stock ${n.stockMs.toFixed(2)} ms ` +
    `(${delta >= 0 ? '+' : ''}${delta.toFixed(2)} ms, yours/stock ${(n.swappedMs / n.stockMs).toFixed(2)}×); ` +
    `logits relL2 vs stock ${n.relL2.toExponential(2)} (${n.ok ? 'pass' : 'FAIL'}, bound ${n.bound})`
  );
}

export function kernelBenchMarkdown(r: KernelBenchReport): string {
  const model = r.shapes.filter((s) => s.set === 'model');
  const edge = r.shapes.filter((s) => s.set === 'edge');
  const lines = [
    `# effnet kernel-bench — ${kernelBenchTitle(r)}`,
    '',
    `${formatAdapter(r.adapter)}; ${r.timer === 'timestamp-query' ? 'GPU timestamp queries' : 'submit wall time (no timestamp-query)'}, median of ${r.runs} run(s)`,
    '',
    '"stock" is our kernel, "yours" the one under test; yours/stock is your median GPU time over ours (below 1×: yours is faster).',
    'Every launch ran twice on NaN-filled outputs (a slot never written, or a race, fails it).',
    '',
  ];
  if (model.length) {
    lines.push(
      `## The model's launches (${model.length})`,
      '',
      '| layers | launch | input | stock kernel | stock ms | yours ms | yours/stock | stock GFLOP/s | yours GFLOP/s | stock GB/s | yours GB/s | max abs err | max rel err | correct |',
      '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      ...model.map((s) =>
        `| ${layersText(s)} | ${s.launch} | ${s.resolution} | ${s.kernel} | ${ms(s.ours.ms)} | ${ms(s.theirs.ms)} | ${s.ratio === null ? '—' : `${s.ratio.toFixed(2)}×`} | ${rate(s.ours.gflops)} | ${rate(s.theirs.gflops)} | ${rate(s.ours.gbps)} | ${rate(s.theirs.gbps)} | ${err(s.theirs.maxAbs)} | ${err(s.theirs.maxRel)} | ${verdict(s)} |`,
      ),
      '',
    );
  }
  if (edge.length) {
    lines.push(
      `## Edge launches (${edge.length}, checked, not timed)`,
      '',
      '| pipeline of | launch | shape | exercises | max abs err | max rel err | correct |',
      '| --- | --- | --- | --- | ---: | ---: | --- |',
      ...edge.map((s) => `| ${layersText(s)} | ${s.launch} | ${s.shape} | ${s.why ?? ''} | ${err(s.theirs.maxAbs)} | ${err(s.theirs.maxRel)} | ${verdict(s)} |`),
      '',
    );
  }
  const failed = r.shapes.filter((s) => !s.theirs.ok);
  if (failed.length) {
    lines.push(`## ${failed.length} of ${r.shapes.length} launch(es) fail`, '');
    for (const s of failed) lines.push(`- ${s.set === 'edge' ? 'edge launch on ' : ''}${layersText(s)}:`, ...s.theirs.messages.filter((m) => !/: ok, /.test(m)).map((m) => `  - ${m}`));
    lines.push('');
  }
  lines.push('## Whole network', '', networkLine(r), '');
  const networkOk = !('error' in r.network) && r.network.ok;
  lines.push(
    r.ok
      ? `PASS: all ${r.shapes.length} launch(es) correct and the network agrees with the stock one.`
      : `FAIL: ${failed.length} of ${r.shapes.length} launch(es) incorrect${networkOk ? '' : '; the network check fails'}.`,
    '',
  );
  return lines.join('\n');
}
