/**
 * `effnet kernel-bench`'s Markdown report (the terminal's); its HTML page is tools/report/html.ts's, drawn by
 * tools/report/kernel-bench-page.ts. "stock" is our kernel, "yours" the user's; the model's launches and the
 * generated edge launches are separate tables, each row naming its launch's overrides.
 */
import type { KernelBenchReport, ShapeRow } from '../../src/kernel-bench/bench.js';
import { CHECK_NOTE, ceilingsText, kernelBenchSubtitle, kernelBenchTitle, layersText, LEGEND, msRange, networkText, totalText, verdictText } from './kernel-bench-model.js';

const rate = (v: number | null) => (v === null ? '—' : v.toFixed(2));
// A report read back from JSON (the Chromium page's) has null where the error was NaN.
const err = (v: number | null) => (v === null || Number.isNaN(v) ? '—' : v.toExponential(2));
const verdict = (s: ShapeRow) => (s.theirs.ok ? 'pass' : 'FAIL');

export function kernelBenchMarkdown(r: KernelBenchReport): string {
  const model = r.shapes.filter((s) => s.set === 'model');
  const edge = r.shapes.filter((s) => s.set === 'edge');
  const lines = [
    `# effnet kernel-bench — ${kernelBenchTitle(r)}`,
    '',
    kernelBenchSubtitle(r),
    '',
    LEGEND,
    CHECK_NOTE,
    '',
  ];
  if (model.length) {
    lines.push(
      `## The model's launches (${model.length})`,
      '',
      '| layers | launch | input | stock kernel | stock ms (min–max) | yours ms (min–max) | yours/stock | stock GFLOP/s | yours GFLOP/s | stock GB/s | yours GB/s | max abs err | max rel err | correct |',
      '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      ...model.map((s) =>
        `| ${layersText(s)} | ${s.launch} | ${s.resolution} | ${s.kernel} | ${msRange(s.ours.ms, s.ours.minMs, s.ours.maxMs)} | ${msRange(s.theirs.ms, s.theirs.minMs, s.theirs.maxMs)} | ${s.ratio === null ? '—' : `${s.ratio.toFixed(2)}×`} | ${rate(s.ours.gflops)} | ${rate(s.theirs.gflops)} | ${rate(s.ours.gbps)} | ${rate(s.theirs.gbps)} | ${err(s.theirs.maxAbs)} | ${err(s.theirs.maxRel)} | ${verdict(s)} |`,
      ),
      '',
      `Layer-weighted total: ${totalText(r)}.`,
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
  lines.push('## Whole network', '', networkText(r), '', `Roofline ceilings of this adapter: ${ceilingsText(r)}.`, '', verdictText(r), '');
  return lines.join('\n');
}
