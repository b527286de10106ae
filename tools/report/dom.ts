/** What the report pages (profile, kernel-bench, the report kinds) build their DOM and charts with. */
import Chart from 'chart.js/auto';
import type { ChartConfiguration } from 'chart.js';

/** Series colours, in order (Office-like, distinguishable in print). */
export const PALETTE = ['#3b75c4', '#e0812f', '#5a9e58', '#c0504d', '#8064a2', '#4bacc6', '#9b8a3c', '#d46fa8', '#6f6f6f'];

export type Child = Node | string;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/** A canvas in a sized box; the chart is drawn once the box is in the document (Chart.js sizes itself from the layout). */
export interface ChartBox {
  box: HTMLElement;
  draw: () => void;
}

export function chartBox(id: string, config: ChartConfiguration, wide = false): ChartBox {
  const canvas = el('canvas', { id });
  return { box: el('div', { class: wide ? 'chart wide' : 'chart' }, canvas), draw: () => new Chart(canvas, config) };
}

export const axisTitle = (text: string) => ({ display: true, text, font: { weight: 'bold' as const } });
export const chartTitle = (text: string) => ({ display: true, text, font: { size: 14 } });

/** Log-axis ticks: label only 1, 2 and 5 × 10^k, written plainly (0.05, 2, 100) instead of 0.0500 or 1e+2. */
export const logTicks = {
  callback: (v: string | number) => {
    const n = Number(v);
    const mantissa = n / 10 ** Math.floor(Math.log10(n) + 1e-9);
    return [1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6) ? String(Number(n.toPrecision(1))) : '';
  },
};
