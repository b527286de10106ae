/**
 * The HTML report's page script (bundled with Chart.js into dist/browser/report.js and inlined into every
 * report): reads the embedded JSON and draws the charts and tables.
 */
import Chart from 'chart.js/auto';
import type { ChartConfiguration, ChartDataset, TooltipItem } from 'chart.js';
import {
  CPU_OPS_NOTE, DATA_ELEMENT_ID, compareTable, fmtMs, fmtRatio, intensity, kernelTable, kernelTypeTable, kernelTypes, reportSubtitle,
  reportTitle, stageTable, summaryItems, timeKind, type AnyProfileReport, type Comparison, type PageData, type Table,
} from './model.js';
import { axisTitle, chartBox, chartTitle, el, logTicks, PALETTE } from './dom.js';

// Lets devtools (and tests) reach each chart's data with Chart.getChart(canvas).
Object.assign(globalThis, { Chart });

Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.font.size = 12;

const BLOCK_COLORS: Record<string, string> = { stem: '#8c96a8', MBConv: '#3b75c4', 'Fused-MBConv': '#e0812f', head: '#5a9e58' };



/** `total`: the last row sums the others (set in bold). */
function table(t: Table, total = false): HTMLTableElement {
  const cls = (i: number): Record<string, string> => (t.numeric[i] ? { class: 'num' } : {});
  return el(
    'table',
    total ? { class: 'totals' } : {},
    el('thead', {}, el('tr', {}, ...t.header.map((h, i) => el('th', cls(i), h)))),
    el('tbody', {}, ...t.rows.map((r) => el('tr', {}, ...r.map((c, i) => el('td', cls(i), c))))),
  );
}

function definitions(items: [string, string][]): HTMLDListElement {
  return el('dl', {}, ...items.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}


function stageChart(r: AnyProfileReport): ChartConfiguration<'bar'> {
  const time = timeKind(r);
  return {
    type: 'bar',
    data: {
      labels: r.stages.map((s) => [s.name, `${s.block} · ${s.resolution}`]),
      datasets: [{
        label: `${time} time (ms, median)`,
        data: r.stages.map((s) => s.ms),
        backgroundColor: r.stages.map((s) => BLOCK_COLORS[s.block] ?? PALETTE[0]!),
      }],
    },
    options: {
      plugins: {
        title: chartTitle(`${time} time per stage (median of ${r.runs} runs)`),
        subtitle: { display: r.timer === 'submit', text: 'no per-stage times: this adapter has no timestamp-query (submit timer only)', color: '#b05000' },
        legend: {
          // One entry per block type (the bars are coloured by it), not the single dataset.
          labels: {
            generateLabels: () => [...new Set(r.stages.map((s) => s.block))].map((b) => ({ text: b, fillStyle: BLOCK_COLORS[b] ?? PALETTE[0]!, strokeStyle: 'transparent', lineWidth: 0, hidden: false })),
          },
          onClick: () => undefined,
        },
        tooltip: {
          callbacks: {
            label: (item: TooltipItem<'bar'>) => {
              const s = r.stages[item.dataIndex]!;
              return [`${fmtMs(s.ms)} ms (p10–p90 ${fmtMs(s.p10Ms)}–${fmtMs(s.p90Ms)})`, `${((s.share ?? 0) * 100).toFixed(1)}% of total`, `${s.gflops?.toFixed(2)} GFLOP/s, ${s.gbps?.toFixed(2)} GB/s`];
            },
          },
        },
      },
      scales: {
        x: { title: axisTitle('stage (block · input resolution)') },
        y: { beginAtZero: true, title: axisTitle(`${time} time, ms (median)`) },
      },
    },
  };
}

function kernelChart(r: AnyProfileReport): ChartConfiguration<'bar'> {
  const types = kernelTypes(r);
  const pct = (xs: (number | null)[]) => xs.map((x) => (x === null ? null : x * 100));
  const datasets: ChartDataset<'bar'>[] = [];
  if (types.every((t) => t.timeShare !== null)) datasets.push({ label: 'share of GPU time', data: pct(types.map((t) => t.timeShare)) as number[], backgroundColor: PALETTE[3] });
  datasets.push(
    { label: 'share of FLOPs', data: pct(types.map((t) => t.flopShare)) as number[], backgroundColor: PALETTE[0] },
    { label: 'share of bytes moved', data: pct(types.map((t) => t.byteShare)) as number[], backgroundColor: PALETTE[2] },
  );
  return {
    type: 'bar',
    data: { labels: types.map((t) => `${t.kernel} (${t.launches}×)`), datasets },
    options: {
      indexAxis: 'y',
      plugins: {
        title: chartTitle(r.backend === 'cpu' ? 'Op kinds: where the FLOPs and bytes go' : 'Kernel types: where the time, FLOPs and bytes go'),
        subtitle: { display: !r.detail, text: r.backend === 'cpu' ? CPU_OPS_NOTE : 'GPU time per kernel needs --detail (a timed pass per kernel)', color: '#667' },
        tooltip: { callbacks: { label: (i: TooltipItem<'bar'>) => `${i.dataset.label}: ${(i.raw as number).toFixed(1)}%` } },
      },
      scales: {
        x: { beginAtZero: true, title: axisTitle('% of the network total') },
        y: { title: axisTitle(r.backend === 'cpu' ? 'op kind (ops)' : 'kernel (launches)') },
      },
    },
  };
}

interface Point { x: number; y: number; name: string }

function rooflineChart(r: AnyProfileReport): ChartConfiguration<'scatter'> {
  const point = (name: string, t: { flops: number; bytes: number; gflops: number | null }): Point[] =>
    t.gflops !== null && t.gflops > 0 && t.flops > 0 ? [{ x: intensity(t), y: t.gflops, name }] : [];
  const stagePoints = r.stages.flatMap((s) => point(`${s.name} (${s.block})`, s));
  const kernels = r.stages.flatMap((s) => s.kernels);
  const types = [...new Set(kernels.map((k) => k.kernel))];
  const kernelSets = types.map((type, i): ChartDataset<'scatter', Point[]> => ({
    label: `${type} launches`,
    data: kernels.filter((k) => k.kernel === type).flatMap((k) => point(k.name, k)),
    backgroundColor: PALETTE[(i + 1) % PALETTE.length],
    pointRadius: 3,
  })).filter((d) => d.data.length > 0);
  const all = [...stagePoints, ...kernelSets.flatMap((d) => d.data)];
  const datasets: ChartDataset<'scatter', Point[]>[] = [
    { label: 'stages', data: stagePoints, backgroundColor: '#1d2430', pointRadius: 6, pointStyle: 'rectRot' },
    ...kernelSets,
  ];
  let top: number | undefined;
  if (all.length > 0) {
    // Ceilings from the measurements themselves (this adapter's peaks are unknown): the best bandwidth and
    // the best compute rate any stage or kernel reached, drawn as a roofline.
    const bw = Math.max(...all.map((p) => p.y / p.x));
    const peak = Math.max(...all.map((p) => p.y));
    const xs = all.map((p) => p.x);
    const [x0, x1] = [Math.min(...xs) / 2, Math.max(...xs) * 2];
    const knee = Math.min(Math.max(peak / bw, x0), x1);
    top = peak * 2;
    datasets.push({
      label: `best achieved: ${bw.toFixed(1)} GB/s, ${peak.toFixed(1)} GFLOP/s`,
      type: 'line' as 'scatter',
      data: [{ x: x0, y: bw * x0, name: 'bandwidth ceiling' }, { x: knee, y: bw * knee, name: 'knee' }, { x: x1, y: bw * knee, name: 'compute ceiling' }],
      borderColor: '#999',
      borderDash: [6, 4],
      borderWidth: 1.5,
      pointRadius: 0,
      showLine: true,
    });
  }
  return {
    type: 'scatter',
    data: { datasets },
    options: {
      plugins: {
        title: chartTitle('Roofline: achieved GFLOP/s vs arithmetic intensity'),
        subtitle: {
          display: true,
          text: r.timer === 'submit' ? 'no points: needs per-stage times (timestamp-query)' : r.detail ? 'a point per stage and per kernel launch' : r.backend === 'cpu' ? 'a point per stage' : 'a point per stage (--detail adds every kernel launch)',
          color: '#667',
        },
        tooltip: {
          callbacks: {
            label: (i: TooltipItem<'scatter'>) => {
              const p = i.raw as Point;
              return `${p.name}: ${p.y.toFixed(2)} GFLOP/s at ${p.x.toFixed(2)} FLOP/B`;
            },
          },
        },
      },
      scales: {
        x: { type: 'logarithmic', title: axisTitle('arithmetic intensity, FLOP/byte (log)'), ticks: logTicks },
        // Headroom above the compute ceiling, which would otherwise sit on the frame.
        y: { type: 'logarithmic', title: axisTitle('achieved GFLOP/s (log)'), ticks: logTicks, ...(top ? { max: top } : {}) },
      },
    },
  };
}

function compareChart(c: Comparison): ChartConfiguration<'bar'> {
  const time = [...new Set(c.entries.map((e) => e.time))].join(' / ');
  return {
    type: 'bar',
    data: {
      labels: c.stages.map((s) => s.name),
      datasets: c.entries.map((e, i) => ({ label: `${e.key}: ${e.label}`, data: c.stages.map((s) => s.ms[i]!), backgroundColor: PALETTE[i % PALETTE.length] })),
    },
    options: {
      plugins: {
        title: chartTitle(`${time} time per stage (median), side by side`),
        legend: { position: 'bottom' },
        tooltip: {
          callbacks: {
            label: (i: TooltipItem<'bar'>) => {
              const row = c.stages[i.dataIndex]!;
              const ratio = i.datasetIndex > 0 ? ` (${fmtRatio(row.ratio[i.datasetIndex]!)} of ${c.entries[0]!.key})` : '';
              return `${c.entries[i.datasetIndex]!.key} ${row.blocks[i.datasetIndex]}: ${fmtMs(row.ms[i.datasetIndex]!)} ms${ratio}`;
            },
          },
        },
      },
      scales: {
        x: { title: axisTitle('stage') },
        y: { beginAtZero: true, title: axisTitle(`${time} time, ms (median)`) },
      },
    },
  };
}

function profilePage(r: AnyProfileReport): { nodes: Node[]; charts: (() => void)[] } {
  const charts = [chartBox('chart-stages', stageChart(r) as ChartConfiguration, true), chartBox('chart-kernels', kernelChart(r) as ChartConfiguration), chartBox('chart-roofline', rooflineChart(r) as ChartConfiguration)];
  const nodes: Node[] = [
    el('h1', {}, `effnet profile: ${reportTitle(r)}`),
    el('p', { class: 'subtitle' }, reportSubtitle(r)),
  ];
  if (r.timer === 'submit') nodes.push(el('p', { class: 'warn' }, 'Coarse timer: this adapter has no timestamp-query, so only whole inferences were timed (submit to read-back). Per-stage and per-kernel times are absent, not estimated.'));
  nodes.push(
    definitions(summaryItems(r)),
    el('div', { class: 'charts' }, ...charts.map((c) => c.box)),
    el('h2', {}, 'Stages'),
    table(stageTable(r), true),
    el('p', { class: 'note' }, 'FLOPs and bytes (activations read and written plus weights) are estimated from the tensor shapes.'),
    el('h2', {}, r.backend === 'cpu' ? 'Op kinds' : 'Kernel types'),
    table(kernelTypeTable(r)),
  );
  if (r.detail) nodes.push(el('details', {}, el('summary', {}, `Every kernel launch (${r.stages.reduce((a, s) => a + s.kernels.length, 0)})`), table(kernelTable(r))));
  return { nodes, charts: charts.map((c) => c.draw) };
}

function comparePage(c: Comparison): { nodes: Node[]; charts: (() => void)[] } {
  const chart = chartBox('chart-compare', compareChart(c) as ChartConfiguration, true);
  const nodes: Node[] = [
    el('h1', {}, 'effnet profile comparison'),
    el('p', { class: 'subtitle' }, c.entries.map((e) => e.key).join(' vs ') + ` — ratios relative to ${c.entries[0]!.key}`),
    definitions(c.entries.map((e) => [e.key, `${e.label} (${e.source})`])),
    el('div', { class: 'charts' }, chart.box),
    el('h2', {}, 'Stages'),
    table(compareTable(c), true),
    el('p', { class: 'note' }, 'Stages are matched by name; — marks a stage a report lacks or could not time.'),
  ];
  return { nodes, charts: [chart.draw] };
}

const data = JSON.parse(document.getElementById(DATA_ELEMENT_ID)!.textContent!) as PageData;
const page = data.kind === 'profile' ? profilePage(data.report) : comparePage(data.comparison);
document.getElementById('report')!.append(...page.nodes);
for (const draw of page.charts) draw();
