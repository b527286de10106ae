/**
 * `effnet report <kind> --out x.html`: one standalone file holding the report (JSON) and the page script
 * (tools/report/kinds-page.ts with Chart.js, bundled by tools/build.mjs), so it opens from file:// with no network.
 */
import { escapeHtml, inlineBundle, scriptJson } from '../harness/index.js';
import { REPORT_STYLE } from './html.js';
import { KIND_TITLES, type KindReport } from './kinds.js';
import { DATA_ELEMENT_ID } from './model.js';

export async function kindReportHtml(report: KindReport): Promise<string> {
  const script = await inlineBundle('report-kinds.js');
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<link rel="icon" href="data:,">',
    `<title>${escapeHtml(`effnet report ${report.kind}: ${KIND_TITLES[report.kind]}`)}</title>`,
    `<style>${REPORT_STYLE}</style>`,
    '</head><body>',
    '<main id="report"></main>',
    `<script type="application/json" id="${DATA_ELEMENT_ID}">${scriptJson(report)}</script>`,
    `<script>${script}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}
