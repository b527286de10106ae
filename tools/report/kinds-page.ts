/**
 * The page script of `effnet report <kind> --out x.html` (bundled with Chart.js into dist/browser/report-kinds.js
 * and inlined into every page): reads the embedded report and draws its charts and tables.
 */
import Chart from 'chart.js/auto';
import type { ChartConfiguration, ChartDataset, TooltipItem } from 'chart.js';
import {
  KIND_TITLES, cellAt, fmtMB, kindSections, kindSubtitle, kindSummary, ok, paperSpeedup, paretoPoints, peakBytes, rowCell,
  speedupVsFirst, splitBatch, stageSplit, type KindReport, type Section,
} from './kinds.js';
import { DATA_ELEMENT_ID, fmtMs } from './model.js';
import { axisTitle, chartBox, chartTitle, el, logTicks, PALETTE, type ChartBox } from './dom.js';

// Lets devtools (and tests) reach each chart's data with Chart.getChart(canvas).
Object.assign(globalThis, { Chart });

Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.font.size = 12;

const color = (i: number): string => PALETTE[i % PALETTE.length]!;



function section(s: Section): Node[] {
  const t = s.table;
  const cls = (i: number): Record<string, string> => (t.numeric[i] ? { class: 'num' } : {});
  return [
    el('h2', {}, s.title),
    el(
      'table',
      {},
      el('thead', {}, el('tr', {}, ...t.header.map((h, i) => el('th', cls(i), h)))),
      el('tbody', {}, ...t.rows.map((r) => el('tr', {}, ...r.map((c, i) => el('td', cls(i), c))))),
    ),
    ...s.notes.map((n) => el('p', { class: 'note' }, n)),
  ];
}

const ms = (c: ReturnType<typeof rowCell>): number | null => (ok(c) ? c.ms : null);
const rate = (c: ReturnType<typeof rowCell>): number | null => (ok(c) ? c.imagesPerS : null);

function latencyCharts(r: KindReport): ChartBox[] {
  const labels = r.rows.map((row) => row.label);
  const datasets: ChartDataset<'bar', (number | null)[]>[] = r.batches.flatMap((b, i) => [
    { label: `this device, batch ${b}`, data: r.rows.map((row) => ms(rowCell(row, b))), backgroundColor: color(i) },
    { label: `V100 FP32 (published), batch ${b}`, data: r.rows.map((row) => row.published?.v100Ms?.[b] ?? null), backgroundColor: color(i) + '55', borderColor: color(i), borderWidth: 1 },
  ]);
  const latency: ChartConfiguration<'bar', (number | null)[]> = {
    type: 'bar',
    data: { labels, datasets },
    options: {
      plugins: { title: chartTitle('Latency per model: this device against the published V100 figures'), legend: { position: 'bottom' } },
      scales: { x: { title: axisTitle('model') }, y: { type: 'logarithmic', title: axisTitle('ms per batch (log)'), ticks: logTicks } },
    },
  };
  const throughput: ChartConfiguration<'line', (number | null)[]> = {
    type: 'line',
    data: {
      labels: r.batches.map(String),
      datasets: r.rows.map((row, i) => ({ label: row.label, data: r.batches.map((b) => rate(rowCell(row, b))), borderColor: color(i), backgroundColor: color(i), spanGaps: true })),
    },
    options: {
      plugins: { title: chartTitle('Throughput against batch size'), legend: { position: 'bottom' } },
      scales: { x: { title: axisTitle('batch') }, y: { beginAtZero: true, title: axisTitle('images/s') } },
    },
  };
  return [chartBox('chart-latency', latency as ChartConfiguration, true), chartBox('chart-throughput', throughput as ChartConfiguration)];
}

function ablationCharts(r: KindReport): ChartBox[] {
  const labels = r.rows.map((row) => row.label);
  const speed: ChartConfiguration<'bar', (number | null)[]> = {
    type: 'bar',
    data: {
      labels,
      datasets: [
        ...r.batches.map((b, i) => ({ label: `this device (inference), batch ${b}`, data: r.rows.map((row) => speedupVsFirst(r, row, b)), backgroundColor: color(i) })),
        { label: 'paper: V100 training', data: r.rows.map((row) => paperSpeedup(r, row)?.v100 ?? null), backgroundColor: '#999' },
        { label: 'paper: TPUv3 training', data: r.rows.map((row) => paperSpeedup(r, row)?.tpu ?? null), backgroundColor: '#ccc' },
      ],
    },
    options: {
      plugins: { title: chartTitle(`Throughput relative to ${r.rows[0]?.label ?? 'the first variant'}`), legend: { position: 'bottom' } },
      scales: { x: { title: axisTitle('variant') }, y: { beginAtZero: true, title: axisTitle('speedup (×)') } },
    },
  };
  const cost: ChartConfiguration<'bar', (number | null)[]> = {
    type: 'bar',
    data: {
      labels,
      datasets: [
        { label: 'params M (ours)', data: r.rows.map((row) => row.params / 1e6), backgroundColor: color(0) },
        { label: 'params M (paper)', data: r.rows.map((row) => row.paper?.paramsM ?? null), backgroundColor: color(0) + '55' },
        { label: 'GFLOPs (ours)', data: r.rows.map((row) => row.flops / 1e9), backgroundColor: color(1) },
        { label: 'GFLOPs (paper, 2 × MACs)', data: r.rows.map((row) => (row.paper ? 2 * row.paper.macsB : null)), backgroundColor: color(1) + '55' },
      ],
    },
    options: {
      plugins: { title: chartTitle('Parameters and FLOPs'), legend: { position: 'bottom' } },
      scales: { x: { title: axisTitle('variant') }, y: { beginAtZero: true, title: axisTitle('millions / billions') } },
    },
  };
  const boxes = [chartBox('chart-speedup', speed as ChartConfiguration), chartBox('chart-cost', cost as ChartConfiguration)];
  const b = splitBatch(r);
  if (b !== null) {
    const split = stageSplit(r, b);
    const stages: ChartConfiguration<'bar', (number | null)[]> = {
      type: 'bar',
      data: {
        labels: split.map((s) => s.stage),
        datasets: r.rows.map((row, i) => ({ label: row.label, data: split.map((s) => s.ms[i] ?? null), backgroundColor: color(i) })),
      },
      options: {
        plugins: {
          title: chartTitle(`GPU time per stage at batch ${b}: where Fused-MBConv wins and loses`),
          legend: { position: 'bottom' },
          tooltip: { callbacks: { label: (item: TooltipItem<'bar'>) => `${r.rows[item.datasetIndex]!.label}: ${split[item.dataIndex]!.blocks[item.datasetIndex]} ${fmtMs(item.raw as number)} ms` } },
        },
        scales: { x: { title: axisTitle('stage') }, y: { beginAtZero: true, title: axisTitle('GPU time, ms (median)') } },
      },
    };
    boxes.push(chartBox('chart-stages', stages as ChartConfiguration, true));
  }
  return boxes;
}

function sweepCharts(r: KindReport): ChartBox[] {
  const row = r.rows[0]!;
  const line = (id: string, title: string, y: string, value: (res: number, b: number) => number | null): ChartBox => chartBox(id, {
    type: 'line',
    data: {
      labels: r.batches.map(String),
      datasets: r.resolutions.map((res, i) => ({ label: `${res}×${res}`, data: r.batches.map((b) => value(res, b)), borderColor: color(i), backgroundColor: color(i), spanGaps: false })),
    },
    options: {
      plugins: { title: chartTitle(title), legend: { position: 'bottom' } },
      scales: { x: { title: axisTitle('batch') }, y: { beginAtZero: true, title: axisTitle(y) } },
    },
  } as ChartConfiguration);
  const limit = Math.min(r.adapter.limits.maxStorageBufferBindingSize, r.adapter.limits.maxBufferSize) / 2 ** 20;
  const memDatasets: ChartDataset<'line', (number | null)[]>[] = r.resolutions.flatMap((res, i) => {
    const cells = r.batches.map((b) => cellAt(row, res, b));
    return [
      {
        label: `${res}×${res}: total MB`,
        data: cells.map((c) => (c ? peakBytes(c) / 2 ** 20 : null)),
        borderColor: color(i),
        backgroundColor: color(i),
        // Cells that did not run (over a limit or the budget) show their planned size as a cross.
        pointStyle: cells.map((c) => (c?.status === 'ok' ? 'circle' : 'crossRot')),
        pointRadius: cells.map((c) => (c?.status === 'ok' ? 3 : 8)),
      },
      { label: `${res}×${res}: largest buffer MB`, data: cells.map((c) => (c ? c.memory.planned.largestBufferBytes / 2 ** 20 : null)), borderColor: color(i), borderDash: [4, 4], pointRadius: 2 },
    ];
  });
  memDatasets.push({ label: `buffer limit (${fmtMB(limit * 2 ** 20)} MB)`, data: r.batches.map(() => limit), borderColor: '#c0504d', borderWidth: 1.5, pointRadius: 0 });
  if (r.memoryBudgetBytes !== null) memDatasets.push({ label: `--memory-budget (${fmtMB(r.memoryBudgetBytes)} MB)`, data: r.batches.map(() => r.memoryBudgetBytes! / 2 ** 20), borderColor: '#8064a2', borderWidth: 1.5, borderDash: [8, 4], pointRadius: 0 });
  const memory: ChartConfiguration<'line', (number | null)[]> = {
    type: 'line',
    data: { labels: r.batches.map(String), datasets: memDatasets },
    options: {
      plugins: { title: chartTitle('GPU memory: exact where run, planned (×) where over a limit or the budget'), legend: { position: 'bottom' } },
      scales: { x: { title: axisTitle('batch') }, y: { type: 'logarithmic', title: axisTitle('MB (log)'), ticks: logTicks } },
    },
  };
  return [
    line('chart-sweep-latency', 'Latency', 'ms per batch', (res, b) => ms(cellAt(row, res, b))),
    line('chart-sweep-throughput', 'Throughput', 'images/s', (res, b) => rate(cellAt(row, res, b))),
    chartBox('chart-sweep-memory', memory as ChartConfiguration, true),
  ];
}

interface ParetoXY {
  x: number;
  y: number;
  arch: string;
}

function paretoChart(r: KindReport): ChartBox[] {
  const pts = paretoPoints(r);
  const families = [...new Set(pts.map((p) => p.family))];
  const datasets: ChartDataset<'scatter', ParetoXY[]>[] = families.map((f, i) => ({
    label: f,
    data: pts.filter((p) => p.family === f).map((p) => ({ x: p.ms, y: p.top1, arch: p.arch })),
    backgroundColor: color(i),
    pointRadius: 6,
  }));
  datasets.push({
    label: 'Pareto front',
    type: 'line' as 'scatter',
    data: pts.filter((p) => p.front).sort((a, b) => a.ms - b.ms).map((p) => ({ x: p.ms, y: p.top1, arch: p.arch })),
    borderColor: '#1d2430',
    borderDash: [6, 4],
    borderWidth: 1.5,
    pointRadius: 0,
    showLine: true,
  });
  const config: ChartConfiguration<'scatter', ParetoXY[]> = {
    type: 'scatter',
    data: { datasets },
    options: {
      plugins: {
        title: chartTitle(`Published ImageNet top-1 against latency on this device (batch ${r.batches[0]})`),
        legend: { position: 'bottom' },
        tooltip: { callbacks: { label: (i: TooltipItem<'scatter'>) => { const p = i.raw as ParetoXY; return `${p.arch}: ${p.y.toFixed(1)}% at ${fmtMs(p.x)} ms`; } } },
      },
      // Latencies may span less than a decade, where 1-2-5 ticks would leave the axis bare: label every tick.
      scales: { x: { type: 'logarithmic', title: axisTitle('ms per inference (log)'), ticks: { callback: (v: string | number) => String(Number(Number(v).toPrecision(2))), maxTicksLimit: 10 } }, y: { title: axisTitle('ImageNet top-1 % (published)') } },
    },
  };
  return [chartBox('chart-pareto', config as ChartConfiguration, true)];
}

const CHARTS: Record<KindReport['kind'], (r: KindReport) => ChartBox[]> = {
  'latency-table': latencyCharts,
  'fused-ablation': ablationCharts,
  sweep: sweepCharts,
  'v1-vs-v2': paretoChart,
};

const r = JSON.parse(document.getElementById(DATA_ELEMENT_ID)!.textContent!) as KindReport;
const boxes = CHARTS[r.kind](r);
const nodes: Node[] = [el('h1', {}, `effnet report ${r.kind}: ${KIND_TITLES[r.kind]}`), el('p', { class: 'subtitle' }, kindSubtitle(r))];
const held = r.rows.flatMap((row) => row.cells.filter((c) => c.status !== 'ok').map((c) => `${row.label} @ ${c.res}, batch ${c.batch}: ${c.status} (${c.reason})`));
if (held.length) nodes.push(el('div', { class: 'warn' }, el('strong', {}, `${held.length} cell(s) not measured`), el('ul', {}, ...held.map((h) => el('li', {}, h)))));
nodes.push(el('dl', {}, ...kindSummary(r).flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])), el('div', { class: 'charts' }, ...boxes.map((b) => b.box)));
for (const s of kindSections(r)) nodes.push(...section(s));
const sources = Object.values(r.sources);
if (sources.length) nodes.push(el('h2', {}, 'Sources'), el('ul', {}, ...sources.map((s) => el('li', {}, el('strong', {}, s.name), `: ${s.where}. ${s.setting}.`))));
document.getElementById('report')!.append(...nodes);
for (const b of boxes) b.draw();
