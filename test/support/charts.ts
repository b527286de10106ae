/** The Chart.js data behind each canvas of a report page, as the page drew it (for the report tests). */
import { pathToFileURL } from 'node:url';
import type { ChromeSession } from '../../tools/harness/index.js';

export interface ChartSummary {
  type: string;
  labels: unknown[];
  datasets: { label: string; data: unknown[]; pointStyle: unknown }[];
}

/** Open `file` from file:// (clearing the errors seen so far, so they are checked per page) and summarise each chart by canvas id. */
export async function pageCharts(chrome: ChromeSession, file: string): Promise<Record<string, ChartSummary>> {
  chrome.errors.length = 0;
  await chrome.page.goto(pathToFileURL(file).href);
  return chrome.page.evaluate(() => {
    const Chart = (globalThis as unknown as { Chart: typeof import('chart.js').Chart }).Chart;
    const out: Record<string, ChartSummary> = {};
    for (const canvas of Array.from(document.querySelectorAll('canvas'))) {
      const c = Chart.getChart(canvas)!;
      out[canvas.id] = {
        type: (c.config as { type: string }).type,
        labels: c.data.labels ?? [],
        datasets: c.data.datasets.map((d) => ({ label: String(d.label), data: d.data as unknown[], pointStyle: (d as { pointStyle?: unknown }).pointStyle ?? null })),
      };
    }
    return out;
  });
}
