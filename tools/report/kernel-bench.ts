/**
 * `effnet kernel-bench` reports: Markdown (the terminal's), and a standalone HTML page in the profile report's
 * style (tools/report/kernel-bench-page.ts draws it: per-shape bars ours vs theirs, a roofline of both).
 */
import type { KernelBenchReport } from '../../src/kernel-bench/bench.js';
import { formatAdapter } from '../../src/gpu.js';
import { escapeHtml, inlineBundle, scriptJson } from '../harness/index.js';
import { REPORT_STYLE } from './html.js';
import { KERNEL_BENCH_DATA_ID, kernelBenchTitle, layersText, networkText } from './kernel-bench-model.js';

const ms = (v: number | null) => (v === null ? '—' : v.toFixed(3));
const rate = (v: number | null) => (v === null ? '—' : v.toFixed(2));
const err = (v: number) => (Number.isNaN(v) ? '—' : v.toExponential(2));

export function kernelBenchMarkdown(r: KernelBenchReport): string {
  const lines = [
    `# effnet kernel-bench — ${kernelBenchTitle(r)}`,
    '',
    `${formatAdapter(r.adapter)}; ${r.timer === 'timestamp-query' ? 'GPU timestamp queries' : 'submit wall time (no timestamp-query)'}, median of ${r.runs} run(s)`,
    '',
    '| layers | input | ours | ours ms | theirs ms | ratio | ours GFLOP/s | theirs GFLOP/s | ours GB/s | theirs GB/s | max abs err | max rel err | correct |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...r.shapes.map((s) =>
      `| ${layersText(s)} | ${s.resolution} | ${s.kernel} | ${ms(s.ours.ms)} | ${ms(s.theirs.ms)} | ${s.ratio === null ? '—' : `${s.ratio.toFixed(2)}×`} | ${rate(s.ours.gflops)} | ${rate(s.theirs.gflops)} | ${rate(s.ours.gbps)} | ${rate(s.theirs.gbps)} | ${err(s.theirs.maxAbs)} | ${err(s.theirs.maxRel)} | ${s.theirs.ok ? 'pass' : 'FAIL'} |`,
    ),
    '',
  ];
  const failed = r.shapes.filter((s) => !s.theirs.ok);
  if (failed.length) {
    lines.push(`## ${failed.length} of ${r.shapes.length} shape(s) fail`, '');
    for (const s of failed) lines.push(`- ${layersText(s)} (${s.shape}):`, ...s.theirs.messages.map((m) => `  - ${m}`));
    lines.push('');
  }
  lines.push('## Whole network', '', networkText(r), '');
  lines.push(
    r.ok ? `All ${r.shapes.length} shape(s) correct.` : `FAIL: ${failed.length} of ${r.shapes.length} shape(s) incorrect.`,
    '',
  );
  return lines.join('\n');
}

export async function kernelBenchHtml(r: KernelBenchReport): Promise<string> {
  const script = await inlineBundle('kernel-bench-report.js');
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<link rel="icon" href="data:,">',
    `<title>${escapeHtml(`effnet kernel-bench: ${kernelBenchTitle(r)}`)}</title>`,
    `<style>${REPORT_STYLE}</style>`,
    '</head><body>',
    '<main id="report"></main>',
    `<script type="application/json" id="${KERNEL_BENCH_DATA_ID}">${scriptJson(r)}</script>`,
    `<script>${script}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}
