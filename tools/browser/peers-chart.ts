/**
 * The chart in `effnet bench --out report.html`: a grouped bar chart of steady-state medians, one group per
 * model@res×batch and one bar per engine, on a log axis (SwiftShader peers and wasm differ by 100×).
 * The CLI inlines this bundle (a classic script, after the data element) into the standalone HTML.
 */
import { BarController, BarElement, CategoryScale, Chart, Legend, LogarithmicScale, Title, Tooltip } from 'chart.js';
import type { BenchReport } from '../peers/peers.js';

Chart.register(BarController, BarElement, CategoryScale, LogarithmicScale, Legend, Title, Tooltip);

const report = JSON.parse(document.getElementById('bench-data')!.textContent!) as BenchReport;
const groupOf = (r: BenchReport['runs'][number]) => `${r.model}@${r.res} ×${r.batch}`;
const groups = [...new Set(report.runs.map(groupOf))];
const engines = [...new Set(report.runs.map((r) => r.engine))];
// One colour per engine whichever of them ran: ours in greens (WebGPU dark, the CPU fallback light, beside
// litert-wasm's purple it is measured against), each peer family in one hue (WebGPU dark, wasm light).
const colours: Record<string, string> = {
  'effnet-webgpu': '#1b5e20', 'effnet-cpu': '#81c784', 'ort-webgpu': '#1565c0', 'ort-wasm': '#64b5f6',
  'tfjs-webgpu': '#e65100', 'tfjs-wasm': '#ffb74d', 'litert-webgpu': '#6a1b9a', 'litert-wasm': '#ce93d8',
};
const palette = ['#455a64', '#90a4ae', '#795548', '#bcaaa4'];
const medians = report.runs.flatMap((r) => (r.medianMs === null ? [] : [r.medianMs]));
// The axis starts at least half a decade below the fastest bar: chart.js's own pick can leave it almost flat.
const floor = medians.length ? 10 ** Math.floor(Math.log10(Math.min(...medians)) - 0.3) : 1;

// Our CPU fallback's median over litert-wasm's in the same run, one line per model (the JSON's `fallback`).
const fallback = Object.entries(report.fallback ?? {}).map(([key, ratio]) => {
  const [, model, res, batch] = key.split('@');
  return `CPU fallback (effnet-cpu) vs litert-wasm: ${ratio.toFixed(2)}× on ${model}@${res} ×${batch!.slice(1)}`;
});

new Chart(document.getElementById('bench-chart') as HTMLCanvasElement, {
  type: 'bar',
  data: {
    labels: groups,
    datasets: engines.map((engine, i) => ({
      label: engine,
      backgroundColor: colours[engine] ?? palette[i % palette.length],
      data: groups.map((g) => report.runs.find((r) => r.engine === engine && groupOf(r) === g)?.medianMs ?? null),
    })),
  },
  options: {
    // A static report: drawn at once, so printing or a screenshot never catches bars mid-animation.
    animation: false,
    // Engines that do not run a model (TF.js on the torchvision ones, ORT on the TF-Hub one) leave no gap.
    skipNull: true,
    plugins: { title: { display: true, text: ['steady-state median per inference (ms, log scale; lower is better)', ...fallback] } },
    scales: { y: { type: 'logarithmic', min: floor, title: { display: true, text: 'ms' } } },
  },
});
