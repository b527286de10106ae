/** `effnet bench` output: the table on stdout, and the same data as Markdown or standalone HTML (--out). */
import { formatAdapter } from '../../src/gpu.js';
import { escapeHtml, inlineBundle, scriptJson } from '../harness/index.js';
import { FALLBACK, FALLBACK_PEER, OURS, fallbackKey, formatMs, ratioKey, type BenchReport, type BenchRow } from './peers.js';

const HEADER = ['engine', 'model', 'res', 'batch', 'load', 'first', 'load+first', 'median', 'p90', 'img/s', 'runs', 'max abs diff', 'peer/ours', 'note'];

function cells(r: BenchRow, report: BenchReport): string[] {
  const ms = (v: number | null) => (v === null ? '—' : formatMs(v));
  const ratio = report.ratios[ratioKey(r.engine, r.model, r.res, r.batch)];
  return [
    r.engine,
    r.model,
    String(r.res),
    String(r.batch),
    ms(r.loadMs),
    ms(r.firstMs),
    ms(r.firstResultMs),
    ms(r.medianMs),
    ms(r.p90Ms),
    r.imagesPerS === null ? '—' : r.imagesPerS.toFixed(r.imagesPerS < 10 ? 2 : 1),
    String(r.runs),
    r.engine === OURS ? (r.status === 'ok' ? 'reference' : '—') : r.maxAbsDiff === null ? '—' : `${r.maxAbsDiff.toExponential(1)} (${r.compared})`,
    ratio === undefined ? '—' : `${ratio.toFixed(2)}×`,
    r.status === 'ok' ? (r.note ?? '') : `${r.status.toUpperCase()}: ${r.note ?? ''}`,
  ];
}

function preamble(report: BenchReport): string[] {
  return [
    `Adapter (our engine, headless Chromium): ${formatAdapter(report.adapter)}`,
    '',
    `Timing: ${report.timing}. Up to ${report.runsRequested} steady-state runs per row, stopped once a row has used ${report.budgetS} s (at least 3 runs).`,
    `Agreement: max |peer − ${OURS}| on the same input; rows beyond ${report.tolerance.logits} (logits; times the largest |logit| where above 1) or ${report.tolerance.probabilities} (probabilities) stay out of the ratios.`,
    'peer/ours = peer median ÷ our median on the same model, resolution and batch (> 1: ours is faster).',
    ...whatRan(report).map((l) => `What ran: ${l}`),
    ...fallbackLines(report),
  ];
}

/**
 * "fallback vs litert-wasm: X×" per model, resolution and batch: our CPU fallback's median ÷ litert-wasm's in this
 * run (< 1: the fallback is faster), or why there is none where the fallback row was asked for.
 */
export function fallbackLines(report: BenchReport): string[] {
  const ratios = report.fallback ?? {};
  const lines: string[] = [];
  for (const r of report.runs) {
    if (r.engine !== FALLBACK) continue;
    const ratio = ratios[fallbackKey(r.model, r.res, r.batch)];
    const what = `${r.model}@${r.res} ×${r.batch}`;
    const peer = report.runs.find((x) => x.engine === FALLBACK_PEER && x.model === r.model && x.res === r.res && x.batch === r.batch);
    lines.push(
      ratio !== undefined
        ? `CPU fallback vs ${FALLBACK_PEER}: ${ratio.toFixed(2)}× (${FALLBACK} median ${formatMs(r.medianMs!)} ÷ ${FALLBACK_PEER} ${formatMs(peer!.medianMs!)}, ${what}; < 1: the fallback is faster)`
        : `CPU fallback vs ${FALLBACK_PEER}: — (${what}: ${!peer ? `${FALLBACK_PEER} did not run` : r.status !== 'ok' || peer.status !== 'ok' ? 'a row did not run' : 'a row disagrees with our output'})`,
    );
  }
  return lines;
}

/** Each engine's own description of what it ran (execution provider, backend; ours: adapter, schedule target, tuning). */
function whatRan(report: BenchReport): string[] {
  const seen = new Map<string, string>();
  for (const r of report.runs) if (r.detail && !seen.has(r.engine)) seen.set(r.engine, r.detail);
  return [...seen].map(([engine, detail]) => `${engine}: ${detail}`);
}

export function markdownTable(report: BenchReport): string {
  const lines = [`| ${HEADER.join(' | ')} |`, `| ${HEADER.map((_, i) => (i >= 2 && i <= 12 ? '---:' : '---')).join(' | ')} |`];
  for (const r of report.runs) lines.push(`| ${cells(r, report).map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`);
  return lines.join('\n');
}

export function markdownReport(report: BenchReport): string {
  return [`# effnet bench: ${OURS} vs LiteRT.js, ONNX Runtime Web and TensorFlow.js`, '', ...preamble(report), '', markdownTable(report), ''].join('\n');
}

/** Standalone HTML: the table plus a chart.js grouped bar chart of medians (the bundle is inlined, no network). */
export async function htmlReport(report: BenchReport): Promise<string> {
  const chart = await inlineBundle('peers-chart.js');
  const rows = report.runs.map((r) => `<tr>${cells(r, report).map((c, i) => `<td${i >= 2 && i <= 12 ? ' class="n"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>effnet bench</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-top: 1em; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
td:not(:last-child) { white-space: nowrap; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
#chart-box { max-width: 1100px; }
</style></head>
<body>
<h1>effnet bench: ${OURS} vs LiteRT.js, ONNX Runtime Web and TensorFlow.js</h1>
${preamble(report).filter(Boolean).map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
<div id="chart-box"><canvas id="bench-chart"></canvas></div>
<table><thead><tr>${HEADER.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
<script type="application/json" id="bench-data">${scriptJson(report)}</script>
<script>${chart}</script>
</body></html>
`;
}
