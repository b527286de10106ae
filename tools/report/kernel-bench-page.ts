/**
 * `effnet kernel-bench --out report.html`'s page script (bundled with Chart.js into
 * dist/browser/kernel-bench-report.js and inlined into the report): per-shape GPU time bars, stock vs yours;
 * a roofline with both kernels' points per shape; the per-shape table with errors; the whole-network result.
 */
import Chart from 'chart.js/auto';
import type { ChartConfiguration, TooltipItem } from 'chart.js';
import type { KernelBenchReport } from '../../src/kernel-bench/bench.js';
import { formatAdapter } from '../../src/gpu.js';
import { KERNEL_BENCH_DATA_ID, kernelBenchTitle, layersText, networkText } from './kernel-bench-model.js';
import { chartBox, el } from './dom.js';

Object.assign(globalThis, { Chart });
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.font.size = 12;

const OURS = '#3b75c4';
const THEIRS = '#e0812f';


const fmt = (v: number | null, digits = 3) => (v === null || Number.isNaN(v) ? '—' : v.toFixed(digits));

function barChart(r: KernelBenchReport): ChartConfiguration<'bar'> {
  return {
    type: 'bar',
    data: {
      labels: r.shapes.map((s) => `${layersText(s)} (${s.resolution})`),
      datasets: [
        { label: `stock (${[...new Set(r.shapes.map((s) => s.kernel))].join(', ')})`, data: r.shapes.map((s) => s.ours.ms), backgroundColor: OURS },
        { label: `yours (${r.kernel})`, data: r.shapes.map((s) => s.theirs.ms), backgroundColor: r.shapes.map((s) => (s.theirs.ok ? THEIRS : '#c0504d')) },
      ],
    },
    options: {
      plugins: { title: { display: true, text: 'GPU ms per layer shape (red: incorrect on that shape)', font: { size: 14 } } },
      scales: { y: { title: { display: true, text: 'ms per dispatch' } } },
    },
  };
}

type Point = { x: number; y: number; name: string };

function rooflineChart(r: KernelBenchReport): ChartConfiguration<'scatter'> {
  const points = (side: 'ours' | 'theirs'): Point[] =>
    r.shapes.flatMap((s) => (s[side].gflops && s.bytes > 0 ? [{ x: s.flops / s.bytes, y: s[side].gflops!, name: layersText(s) }] : []));
  return {
    type: 'scatter',
    data: {
      datasets: [
        { label: 'stock', data: points('ours'), backgroundColor: OURS, pointRadius: 5 },
        { label: `yours (${r.kernel})`, data: points('theirs'), backgroundColor: THEIRS, pointRadius: 5, pointStyle: 'rectRot' },
      ],
    },
    options: {
      plugins: {
        title: { display: true, text: 'Roofline: achieved GFLOP/s vs arithmetic intensity, per shape', font: { size: 14 } },
        tooltip: { callbacks: { label: (i: TooltipItem<'scatter'>) => `${(i.raw as Point).name}: ${(i.raw as Point).y.toFixed(2)} GFLOP/s` } },
      },
      scales: {
        x: { type: 'logarithmic', title: { display: true, text: 'FLOP/byte (log)' } },
        y: { type: 'logarithmic', title: { display: true, text: 'GFLOP/s (log)' } },
      },
    },
  };
}

function shapeTable(r: KernelBenchReport): HTMLTableElement {
  const header = ['layers', 'input', 'stock kernel', 'stock ms', 'yours ms', 'yours / stock (< 1×: yours faster)', 'stock GFLOP/s', 'yours GFLOP/s', 'stock GB/s', 'yours GB/s', 'max abs err', 'max rel err', 'correct'];
  const rows = r.shapes.map((s) => [
    layersText(s), s.resolution, s.kernel, fmt(s.ours.ms), fmt(s.theirs.ms), s.ratio === null ? '—' : `${s.ratio.toFixed(2)}×`,
    fmt(s.ours.gflops, 2), fmt(s.theirs.gflops, 2), fmt(s.ours.gbps, 2), fmt(s.theirs.gbps, 2),
    Number.isNaN(s.theirs.maxAbs) ? '—' : s.theirs.maxAbs.toExponential(2), Number.isNaN(s.theirs.maxRel) ? '—' : s.theirs.maxRel.toExponential(2),
    s.theirs.ok ? 'pass' : 'FAIL',
  ]);
  return el(
    'table', {},
    el('thead', {}, el('tr', {}, ...header.map((h, i) => el('th', i > 2 ? { class: 'num' } : {}, h)))),
    el('tbody', {}, ...rows.map((row) => el('tr', {}, ...row.map((c, i) => el('td', i > 2 && i < 12 ? { class: 'num' } : {}, c))))),
  );
}

function page(r: KernelBenchReport): void {
  const failed = r.shapes.filter((s) => !s.theirs.ok);
  const bars = chartBox('shape-bars', barChart(r), true);
  const roof = chartBox('roofline', rooflineChart(r), true);
  const main = document.getElementById('report')!;
  main.append(
    el('h1', {}, `effnet kernel-bench — ${kernelBenchTitle(r)}`),
    el('p', { class: 'subtitle' }, `${formatAdapter(r.adapter)}; ${r.timer}; median of ${r.runs} run(s)`),
    el('dl', {},
      el('dt', {}, 'correctness'), el('dd', {}, r.ok ? `all ${r.shapes.length} shape(s) pass` : `${failed.length} of ${r.shapes.length} shape(s) FAIL`),
      el('dt', {}, 'whole network'), el('dd', {}, networkText(r)),
    ),
    el('div', { class: 'charts' }, bars.box, roof.box),
    el('h2', {}, 'Per shape'),
    shapeTable(r),
    ...(failed.length ? [el('h2', {}, 'Failures'), el('ul', {}, ...failed.map((s) => el('li', {}, `${layersText(s)} (${s.shape}): ${s.theirs.messages.join('; ')}`)))] : []),
  );
  bars.draw();
  roof.draw();
}

page(JSON.parse(document.getElementById(KERNEL_BENCH_DATA_ID)!.textContent!) as KernelBenchReport);
