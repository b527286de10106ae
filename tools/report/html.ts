/**
 * The standalone HTML reports — `effnet profile`, `effnet report <kind>` and `effnet kernel-bench` with `--out
 * x.html` — each one file holding the data (JSON) and its page script (tools/report/page.ts, kinds-page.ts or
 * kernel-bench-page.ts with Chart.js, bundled by tools/build.mjs), so it opens from file:// with no network.
 */
import type { KernelBenchReport } from '../../src/kernel-bench/bench.js';
import { escapeHtml, inlineBundle, scriptJson } from '../harness/index.js';
import { KERNEL_BENCH_DATA_ID, kernelBenchTitle } from './kernel-bench-model.js';
import { KIND_TITLES, type KindReport } from './kinds.js';
import { DATA_ELEMENT_ID, reportSubtitle, reportTitle, type PageData } from './model.js';

const REPORT_STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 24px auto; max-width: 1200px; padding: 0 24px; color: #1d2430; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
.subtitle { color: #556; margin: 0 0 12px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0 0 8px; }
dt { font-weight: 600; color: #334; }
dd { margin: 0; }
.warn { background: #fff4e0; border: 1px solid #f0b860; padding: 8px 12px; border-radius: 4px; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; }
.chart { position: relative; height: 360px; border: 1px solid #e3e6ec; border-radius: 6px; padding: 8px; }
.chart.wide { grid-column: 1 / -1; }
.note { color: #667; font-size: 12.5px; margin: 4px 0; }
table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e3e6ec; white-space: nowrap; }
th { background: #f3f5f8; text-align: left; }
td.num, th.num { text-align: right; }
table.totals tr:last-child td { font-weight: 600; }
details summary { cursor: pointer; margin: 8px 0; }
.verdict { font-weight: 600; padding: 6px 12px; border-radius: 4px; margin: 8px 0 12px; }
.verdict.pass { background: #e9f5e9; border: 1px solid #8fc48f; color: #1e5e22; }
.verdict.fail { background: #fdecea; border: 1px solid #e6a19a; color: #8a1f14; }
.kb-charts { grid-template-columns: 3fr 2fr; }
.kb-charts .chart { height: 440px; }
.kb-charts.stacked { grid-template-columns: 1fr; }
table.kb { width: 100%; font-size: 13px; }
table.kb th, table.kb td { padding: 3px 6px; vertical-align: top; }
table.kb thead th { vertical-align: bottom; }
table.kb th.group { text-align: center; border-bottom: 1px solid #c9ced8; }
table.kb .wrap { white-space: normal; overflow-wrap: anywhere; }
table.kb td.launch { min-width: 16em; }
table.kb .spread { color: #667; font-size: 11.5px; }
table.kb td.ok { color: #2e7d32; }
table.kb td.bad, table.kb td.bad a { color: #c0392b; font-weight: 600; }
`;

/** The one page shell: `data` in the element its page script reads (`dataId`), then the script (dist/browser/<bundle>). */
async function standalonePage(o: { title: string; dataId: string; data: unknown; bundle: string }): Promise<string> {
  const script = await inlineBundle(o.bundle);
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<link rel="icon" href="data:,">',
    `<title>${escapeHtml(o.title)}</title>`,
    `<style>${REPORT_STYLE}</style>`,
    '</head><body>',
    '<main id="report"></main>',
    `<script type="application/json" id="${o.dataId}">${scriptJson(o.data)}</script>`,
    `<script>${script}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}

export function reportHtml(data: PageData): Promise<string> {
  const title = data.kind === 'profile'
    ? `effnet profile: ${reportTitle(data.report)} — ${reportSubtitle(data.report)}`
    : `effnet profile comparison: ${data.comparison.entries.map((e) => e.label).join(' vs ')}`;
  return standalonePage({ title, dataId: DATA_ELEMENT_ID, data, bundle: 'report.js' });
}

export function kindReportHtml(report: KindReport): Promise<string> {
  return standalonePage({ title: `effnet report ${report.kind}: ${KIND_TITLES[report.kind]}`, dataId: DATA_ELEMENT_ID, data: report, bundle: 'report-kinds.js' });
}

export function kernelBenchHtml(r: KernelBenchReport): Promise<string> {
  return standalonePage({ title: `effnet kernel-bench: ${kernelBenchTitle(r)}`, dataId: KERNEL_BENCH_DATA_ID, data: r, bundle: 'kernel-bench-report.js' });
}
