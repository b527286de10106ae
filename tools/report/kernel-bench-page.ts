/**
 * `effnet kernel-bench --out report.html`'s page script (bundled with Chart.js into
 * dist/browser/kernel-bench-report.js and inlined into the report): the verdict; a roofline of the model's timed
 * launches under the adapter's measured ceilings, each point named; per-launch GPU time bars with min–max
 * whiskers; the model's and the edge launches' tables; one failure table row per failing output.
 */
import Chart from 'chart.js/auto';
import type { ChartConfiguration, Plugin, TooltipItem } from 'chart.js';
import type { KernelBenchReport, ShapeRow } from '../../src/kernel-bench/bench.js';
import type { OutputFailure } from '../../src/kernel-bench/check.js';
import {
  CHECK_NOTE, ceilingsText, KERNEL_BENCH_DATA_ID, kernelBenchSubtitle, kernelBenchTitle, layersText, LEGEND, networkText, spreadText, totalText, verdictText,
} from './kernel-bench-model.js';
import { axisTitle, chartBox, chartTitle, el, logTicks, type Child } from './dom.js';

// Lets devtools (and tests) reach each chart's data with Chart.getChart(canvas).
Object.assign(globalThis, { Chart });
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.font.size = 12;

/** Fill and (darker) label colours per side; yours in red where that launch is incorrect. */
const STOCK = { fill: '#3b75c4', text: '#23508c' };
const YOURS = { fill: '#e0812f', text: '#a3560f' };
const WRONG = '#c0392b';
const ROOF = '#4a4f5a';

// A report read back from JSON has null where a number was NaN.
const rate = (v: number | null) => (v === null || Number.isNaN(v) ? '—' : v >= 100 ? v.toFixed(0) : v.toPrecision(3));
const sci = (v: number | null) => (v === null || Number.isNaN(v) ? '—' : v.toExponential(2));
const value = (v: number | null) =>
  v === null || Number.isNaN(v) ? 'NaN' : v === 0 || (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e6) ? String(Number(v.toPrecision(6))) : v.toExponential(4);

/**
 * Chart names for the model's launches: each first layer from its first numbered segment on, less the last segment
 * when all of them share it (`features.4.1.dwconv +1` → `4.1+1`; `features.2.0.project` → `2.0.project`).
 */
function shortNames(rows: ShapeRow[]): Map<ShapeRow, string> {
  const parts = rows.map((s) => s.layers[0]!.split('.'));
  const sharedLast = rows.length > 1 && parts.every((p) => p.at(-1) === parts[0]!.at(-1));
  return new Map(rows.map((s, k) => {
    const p = parts[k]!;
    const from = Math.max(p.findIndex((seg) => /^\d+$/.test(seg)), 0);
    const to = sharedLast && p.length - 1 > from ? p.length - 1 : p.length;
    return [s, p.slice(from, to).join('.') + (s.layers.length > 1 ? `+${s.layers.length - 1}` : '')];
  }));
}

interface Box { x: number; y: number; w: number; h: number }
const overlaps = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/** A roofline point: `name` is written beside it, `layers` (a launch's) named in its tooltip. */
type Point = { x: number; y: number; name?: string; layers?: string };

/**
 * Writes each point's `name` beside it, in its dataset's border colour: right of the point, else left, above, below
 * or diagonally, whichever first stays inside the plot and clear of the points, the ceilings and the labels already
 * written (where none is, overlapping rather than leaving the point unnamed).
 */
const pointLabels: Plugin<'scatter'> = {
  id: 'pointLabels',
  afterDatasetsDraw(chart) {
    const { ctx, chartArea: area } = chart;
    const h = 12;
    const gap = 6;
    const named = chart.data.datasets.flatMap((d, i) =>
      chart.isDatasetVisible(i) ? chart.getDatasetMeta(i).data.map((p, j) => ({ p, name: (d.data[j] as Point).name, color: String(d.borderColor) })) : [],
    );
    const taken: Box[] = named.map(({ p }) => ({ x: p.x - 4, y: p.y - 4, w: 8, h: 8 }));
    // The ceilings' lines too, as a dot every few pixels along each segment.
    chart.data.datasets.forEach((d, i) => {
      const pts = chart.getDatasetMeta(i).data;
      if (!(d as { showLine?: boolean }).showLine || !chart.isDatasetVisible(i)) return;
      for (let k = 1; k < pts.length; k++) {
        const [a, b] = [pts[k - 1]!, pts[k]!];
        const steps = Math.ceil(Math.hypot(b.x - a.x, b.y - a.y) / 3);
        for (let t = 0; t <= steps; t++) taken.push({ x: a.x + ((b.x - a.x) * t) / steps - 1, y: a.y + ((b.y - a.y) * t) / steps - 1, w: 2, h: 2 });
      }
    });
    const inside = (b: Box) => b.x >= area.left && b.x + b.w <= area.right && b.y >= area.top && b.y + b.h <= area.bottom;
    ctx.save();
    ctx.font = `11px ${Chart.defaults.font.family}`;
    ctx.textBaseline = 'top';
    for (const { p, name, color } of named) {
      if (!name) continue;
      const w = ctx.measureText(name).width;
      const [right, left, mid] = [p.x + gap, p.x - gap - w, p.x - w / 2];
      const [up, level, down] = [p.y - gap - h, p.y - h / 2, p.y + gap];
      const sides = ([[right, level], [left, level], [mid, up], [mid, down], [right, up], [right, down], [left, up], [left, down]] as const)
        .map(([x, y]): Box => ({ x, y, w, h }));
      const b = sides.find((s) => inside(s) && !taken.some((t) => overlaps(s, t))) ?? sides.find(inside) ?? sides[0]!;
      taken.push(b);
      ctx.fillStyle = color;
      ctx.fillText(name, b.x, b.y);
    }
    ctx.restore();
  },
};

/** The nearest 1, 2 or 5 × 10^k at or below (`down`) or above `v`: log-axis ends on labelled ticks. */
function logStop(v: number, down: boolean): number {
  const k = Math.floor(Math.log10(v));
  const stops = [1, 2, 5, 10].map((m) => m * 10 ** k);
  return down ? stops.filter((s) => s <= v * (1 + 1e-9)).pop()! : stops.find((s) => s >= v * (1 - 1e-9))!;
}

function rooflineChart(r: KernelBenchReport, timed: ShapeRow[], names: Map<ShapeRow, string>): ChartConfiguration<'scatter'> {
  const c = r.ceilings;
  const point = (side: 'ours' | 'theirs', rows: ShapeRow[]) => rows.map((s): Point => ({ x: s.flops / s.bytes, y: s[side].gflops!, name: names.get(s), layers: layersText(s) }));
  const wrong = timed.filter((s) => !s.theirs.ok);
  const ais = timed.map((s) => s.flops / s.bytes);
  const rates = timed.flatMap((s) => [s.ours.gflops!, s.theirs.gflops!]);
  const knee = c && c.gflops / c.gbps;
  const x = { min: logStop(Math.min(...ais, knee ?? Infinity) / 1.2, true), max: logStop(Math.max(...ais, knee ?? 0) * 1.2, false) };
  const y = { min: logStop(Math.min(...rates) / 1.3, true), max: logStop(Math.max(...rates, c?.gflops ?? 0) * 1.3, false) };
  const roof = (label: string, data: Point[]) => ({
    label, data, showLine: true, borderColor: ROOF, backgroundColor: ROOF, borderWidth: 2, pointRadius: 0, pointHoverRadius: 0, pointStyle: 'line' as const,
  });
  return {
    type: 'scatter',
    data: {
      datasets: [
        ...(c && knee
          ? [
            roof(`memory roof: ${c.gbps.toFixed(2)} GB/s × FLOP/byte`, [{ x: x.min, y: c.gbps * x.min }, { x: knee, y: c.gflops, name: `knee ${knee.toFixed(1)} FLOP/B` }]),
            roof(`compute roof: ${c.gflops.toFixed(2)} GFLOP/s`, [{ x: knee, y: c.gflops }, { x: x.max, y: c.gflops }]),
          ]
          : []),
        { label: 'stock', data: point('ours', timed), backgroundColor: STOCK.fill, borderColor: STOCK.text, pointRadius: 4, pointStyle: 'circle' },
        { label: `yours (${r.kernel})`, data: point('theirs', timed.filter((s) => s.theirs.ok)), backgroundColor: YOURS.fill, borderColor: YOURS.text, pointRadius: 4.5, pointStyle: 'rectRot' },
        ...(wrong.length ? [{ label: 'yours, incorrect', data: point('theirs', wrong), backgroundColor: WRONG, borderColor: WRONG, pointRadius: 4.5, pointStyle: 'rectRot' as const }] : []),
      ],
    },
    options: {
      plugins: {
        legend: { labels: { usePointStyle: true } },
        title: chartTitle(c ? 'Roofline: GFLOP/s vs FLOP/byte per model launch, under this adapter\'s measured ceilings' : 'Roofline per model launch — ceilings not measured'),
        tooltip: {
          filter: (i: TooltipItem<'scatter'>) => (i.raw as Point).name !== undefined,
          callbacks: {
            label: (i: TooltipItem<'scatter'>) => {
              const p = i.raw as Point;
              return p.layers ? `${i.dataset.label}, ${p.layers}: ${p.y.toFixed(3)} GFLOP/s at ${p.x.toFixed(2)} FLOP/byte` : p.name!;
            },
          },
        },
      },
      scales: {
        x: { type: 'logarithmic', ...x, title: axisTitle('arithmetic intensity, FLOP/byte (log)'), ticks: { ...logTicks, autoSkip: false } },
        y: { type: 'logarithmic', ...y, title: axisTitle('GFLOP/s (log)'), ticks: { ...logTicks, autoSkip: false } },
      },
    },
    plugins: [pointLabels],
  };
}

/** Draws each bar's fastest–slowest run as a whisker: `spread[dataset][bar]`, null where that dataset has no bar. */
function whiskers(spread: ([number, number] | null)[][]): Plugin<'bar'> {
  return {
    id: 'whiskers',
    afterDatasetsDraw(chart) {
      const { ctx } = chart;
      const y = chart.scales.y!;
      ctx.save();
      ctx.strokeStyle = '#1d2430';
      ctx.lineWidth = 1.2;
      spread.forEach((bars, i) => {
        if (!chart.isDatasetVisible(i)) return;
        chart.getDatasetMeta(i).data.forEach((bar, j) => {
          const run = bars[j];
          if (!run) return;
          const [lo, hi] = run.map((v) => y.getPixelForValue(v)) as [number, number];
          const { x, width } = bar.getProps(['x', 'width'], true) as { x: number; width: number };
          const cap = Math.min(5, width / 3);
          ctx.beginPath();
          for (const [x0, y0, x1, y1] of [[x, lo, x, hi], [x - cap, lo, x + cap, lo], [x - cap, hi, x + cap, hi]] as const) {
            ctx.moveTo(x0, y0);
            ctx.lineTo(x1, y1);
          }
          ctx.stroke();
        });
      });
      ctx.restore();
    },
  };
}

function barChart(r: KernelBenchReport, timed: ShapeRow[], names: Map<ShapeRow, string>): ChartConfiguration<'bar'> {
  // Yours is two datasets, correct and incorrect, each null where the other has the bar (skipNull keeps one slot).
  const sides = [
    { label: 'stock', side: 'ours' as const, color: STOCK.fill, has: () => true },
    { label: `yours (${r.kernel})`, side: 'theirs' as const, color: YOURS.fill, has: (s: ShapeRow) => s.theirs.ok },
    { label: 'yours, incorrect', side: 'theirs' as const, color: WRONG, has: (s: ShapeRow) => !s.theirs.ok },
  ].filter((d, i) => i < 2 || timed.some(d.has));
  return {
    type: 'bar',
    data: {
      labels: timed.map((s) => names.get(s)!),
      datasets: sides.map((d) => ({ label: d.label, data: timed.map((s) => (d.has(s) ? s[d.side].ms : null)), backgroundColor: d.color, skipNull: true })),
    },
    options: {
      plugins: {
        title: chartTitle(`GPU ms per model launch: median, whiskers fastest–slowest of ${r.runs} run(s)`),
        tooltip: {
          callbacks: {
            title: (items: TooltipItem<'bar'>[]) => layersText(timed[items[0]!.dataIndex]!),
            label: (i: TooltipItem<'bar'>) => {
              const side = timed[i.dataIndex]![sides[i.datasetIndex]!.side];
              return `${i.dataset.label}: ${side.ms!.toFixed(3)} ms (${spreadText(side.minMs!, side.maxMs!)})`;
            },
          },
        },
      },
      scales: {
        x: { title: axisTitle('launch (first layer, +n more running it)'), ticks: { autoSkip: false } },
        y: { beginAtZero: true, suggestedMax: Math.max(...timed.flatMap((s) => [s.ours.maxMs!, s.theirs.maxMs!])), title: axisTitle('ms per dispatch') },
      },
    },
    plugins: [whiskers(sides.map((d) => timed.map((s): [number, number] | null => (d.has(s) ? [s[d.side].minMs!, s[d.side].maxMs!] : null))))],
  };
}

type Cell = Child | { text: Child; cls?: string; title?: string; span?: number; rows?: number };

function cell(tag: 'td' | 'th', c: Cell): HTMLTableCellElement {
  if (typeof c === 'string' || c instanceof Node) return el(tag, {}, c);
  const attrs: Record<string, string> = {};
  if (c.cls) attrs.class = c.cls;
  if (c.title) attrs.title = c.title;
  if (c.span) attrs.colspan = String(c.span);
  if (c.rows) attrs.rowspan = String(c.rows);
  return el(tag, attrs, c.text);
}

function table(id: string, head: Cell[][], rows: { id?: string; cells: Cell[] }[]): HTMLTableElement {
  return el(
    'table', { id, class: 'kb' },
    el('thead', {}, ...head.map((r) => el('tr', {}, ...r.map((c) => cell('th', c))))),
    el('tbody', {}, ...rows.map((r) => el('tr', r.id ? { id: r.id } : {}, ...r.cells.map((c) => cell('td', c))))),
  );
}

/** A median over its fastest–slowest run, stacked so the column stays narrow. */
const msCell = (s: ShapeRow['ours']): Cell => ({
  cls: 'num',
  text: s.ms === null ? '—' : el('span', {}, s.ms.toFixed(3), el('br'), el('span', { class: 'spread' }, spreadText(s.minMs!, s.maxMs!))),
});
const layersCell = (s: ShapeRow) => ({ text: layersText(s), title: s.layers.join(', ') });
const launchCell = (s: ShapeRow): Cell => ({ text: `${s.kernel} ${s.launch}`, cls: 'wrap launch' });
const verdict = (s: ShapeRow): Cell => (s.theirs.ok ? { text: 'pass', cls: 'ok' } : { text: el('a', { href: '#failures' }, 'FAIL'), cls: 'bad' });

function modelTable(rows: ShapeRow[], ids: Map<ShapeRow, string>): HTMLTableElement {
  const two = (text: string): Cell => ({ text, span: 2, cls: 'group' });
  const one = (text: string, cls?: string): Cell => ({ text, rows: 2, cls });
  return table(
    'model-launches',
    [
      [one('layers'), one('launch'), one('input'), two('GPU ms (fastest–slowest)'), one('yours / stock', 'num'), two('GFLOP/s'), two('GB/s'), two('your max error'), one('correct')],
      ['stock', 'yours', 'stock', 'yours', 'stock', 'yours', 'abs', 'rel'].map((text) => ({ text, cls: 'num' })),
    ],
    rows.map((s) => ({
      id: ids.get(s),
      cells: [
        layersCell(s), launchCell(s), s.resolution, msCell(s.ours), msCell(s.theirs),
        { text: s.ratio === null ? '—' : `${s.ratio.toFixed(2)}×`, cls: 'num' },
        ...[s.ours.gflops, s.theirs.gflops, s.ours.gbps, s.theirs.gbps].map((v): Cell => ({ text: rate(v), cls: 'num' })),
        { text: sci(s.theirs.maxAbs), cls: 'num' }, { text: sci(s.theirs.maxRel), cls: 'num' }, verdict(s),
      ],
    })),
  );
}

function edgeTable(rows: ShapeRow[], ids: Map<ShapeRow, string>): HTMLTableElement {
  return table(
    'edge-launches',
    [[{ text: '#', cls: 'num' }, 'pipeline of', 'launch', 'shape', 'exercises', { text: 'max abs err', cls: 'num' }, { text: 'max rel err', cls: 'num' }, 'correct']],
    rows.map((s, i) => ({
      id: ids.get(s),
      cells: [
        { text: String(i + 1), cls: 'num' }, layersCell(s), launchCell(s), { text: s.shape, cls: 'wrap' }, { text: s.why ?? '', cls: 'wrap' },
        { text: sci(s.theirs.maxAbs), cls: 'num' }, { text: sci(s.theirs.maxRel), cls: 'num' }, verdict(s),
      ],
    })),
  );
}

const raceText = (f: OutputFailure) =>
  f.firstDiff ? `${f.differ} differ; first ${f.firstDiff.at}: ${value(f.firstDiff.first)} then ${value(f.firstDiff.second)}` : 'none';

/**
 * One row per failing output (the launch's cells spanning its outputs); a launch WebGPU refused has no outputs
 * checked, so its message spans the rest of the row.
 */
function failureTable(failed: ShapeRow[], ids: Map<ShapeRow, string>): HTMLTableElement {
  const rows = failed.flatMap((s) => {
    const n = Math.max(s.theirs.failures.length, 1);
    const launch: Cell[] = [
      { text: el('a', { href: `#${ids.get(s)}` }, ids.get(s)!.replace('-', ' ')), rows: n },
      { ...layersCell(s), rows: n },
      { text: el('span', {}, `${s.kernel} ${s.launch}`, el('br'), el('span', { class: 'spread' }, s.shape)), cls: 'wrap launch', rows: n },
    ];
    if (!s.theirs.failures.length) return [{ cells: [...launch, { text: s.theirs.messages.join('; '), span: 6, cls: 'wrap' }] }];
    return s.theirs.failures.map((f, i) => {
      const first = f.first[0];
      return {
        cells: [
          ...(i === 0 ? launch : []), f.output, { text: `${f.wrong} / ${f.total}`, cls: 'num' },
          first?.at ?? '—', { text: first ? value(first.got) : '—', cls: 'num' }, { text: first ? value(first.want) : '—', cls: 'num' },
          { text: raceText(f), cls: 'wrap' },
        ],
      };
    });
  });
  return table(
    'failure-table',
    [['set', 'layers', 'launch (shape)', 'output', { text: 'wrong / total', cls: 'num' }, 'first wrong at', { text: 'got', cls: 'num' }, { text: 'want', cls: 'num' }, 'race (two runs differ)']],
    rows,
  );
}

function page(r: KernelBenchReport): void {
  const model = r.shapes.filter((s) => s.set === 'model');
  const edge = r.shapes.filter((s) => s.set === 'edge');
  const failed = r.shapes.filter((s) => !s.theirs.ok);
  // Row ids for the failure table's links, numbered as the log numbers edge launches (`edge 3`).
  const ids = new Map(r.shapes.map((s) => [s, s.set === 'model' ? `model-${model.indexOf(s) + 1}` : `edge-${edge.indexOf(s) + 1}`]));
  const timed = model.filter((s) => s.ours.ms !== null && s.theirs.ms !== null && s.bytes > 0);
  const names = shortNames(timed);
  const charts = timed.length ? [chartBox('roofline', rooflineChart(r, timed, names)), chartBox('launch-bars', barChart(r, timed, names))] : [];
  // Past this many launches side-by-side charts crowd their labels: each gets the full width.
  const stacked = timed.length > 14;
  const main = document.getElementById('report')!;
  main.append(
    el('h1', {}, `effnet kernel-bench — ${kernelBenchTitle(r)}`),
    el('p', { class: 'subtitle' }, kernelBenchSubtitle(r)),
    el('p', { class: r.ok ? 'verdict pass' : 'verdict fail' }, verdictText(r)),
    el('dl', {},
      el('dt', {}, 'layer-weighted total'), el('dd', {}, totalText(r)),
      el('dt', {}, 'whole network'), el('dd', {}, networkText(r)),
      el('dt', {}, 'roofline ceilings'), el('dd', {}, ceilingsText(r)),
    ),
    charts.length ? el('div', { class: stacked ? 'charts kb-charts stacked' : 'charts kb-charts' }, ...charts.map((c) => c.box)) : el('p', { class: 'note' }, 'No model launch was timed: no charts.'),
    el('p', { class: 'note' }, LEGEND, ' ', CHECK_NOTE),
    ...(model.length ? [el('h2', {}, `The model's launches (${model.length})`), modelTable(model, ids)] : []),
    ...(edge.length ? [el('h2', {}, `Edge launches (${edge.length}, checked, not timed)`), edgeTable(edge, ids)] : []),
    ...(failed.length
      ? [
        el('h2', { id: 'failures' }, `Failures: ${failed.length} of ${r.shapes.length} launch(es)`),
        failureTable(failed, ids),
        el('p', { class: 'note' }, 'Positions are (n, y, x, c) in the output; NaN: never written, or read before written (outputs start NaN-filled).'),
      ]
      : []),
  );
  for (const c of charts) c.draw();
}

page(JSON.parse(document.getElementById(KERNEL_BENCH_DATA_ID)!.textContent!) as KernelBenchReport);
