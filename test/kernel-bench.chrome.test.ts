/**
 * `effnet kernel-bench --host chrome`: both examples on B0 at a small resolution in headless Chromium, as a
 * user runs them — the naive depthwise kernel passes every shape, timed against ours; the pointwise
 * off-by-one is caught on exactly the layers that apply the SE gate, with exit code 1 — and their HTML reports,
 * which Chromium must render within 1280 px: the roofline (the ceilings, every point named), the per-launch bars
 * and the failure table, holding the report's data.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KernelBenchReport } from '../src/kernel-bench/bench.js';
import { openChrome, type ChromeSession } from '../tools/harness/index.js';
import { effnet } from './support/cli.js';
import { networkRan } from './support/network.js';

const dir = mkdtempSync(join(tmpdir(), 'effnet-kernel-bench-'));
const SMALL = ['--res', '32', '--runs', '2', '--host', 'chrome', '--json'];
let chrome: ChromeSession | undefined;
type Page = ChromeSession['page'];

/** A report in `dir`, in the one Chromium session, at the 1280×900 viewport the page is laid out for. */
async function openReport(name: string): Promise<Page> {
  if (chrome) await chrome.page.goto(chrome.url + name);
  else chrome = await openChrome({ '': dir }, { page: name });
  await chrome.page.setViewport({ width: 1280, height: 900 });
  return chrome.page;
}

/** Nothing cut off or scrolled sideways at 1280 px. */
const fitsWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= 1280);

afterAll(async () => {
  await chrome?.close();
});

describe('effnet kernel-bench in headless Chromium', () => {
  test('naive depthwise: every B0 shape correct, timed, network parity; the HTML report renders', async () => {
    const r = await effnet('kernel-bench', '--op', 'dwconv', '--kernel', 'examples/kernels/naive_dwconv.wgsl', ...SMALL, '--out', join(dir, 'dw.html'));
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as KernelBenchReport;
    expect(report.adapter.host).toBe('browser');
    expect(report.ok).toBe(true);
    expect(report.shapes.filter((s) => s.set === 'model').length).toBe(12);
    expect(report.shapes.filter((s) => s.set === 'edge').length).toBeGreaterThan(0);
    for (const s of report.shapes) {
      expect(s.theirs.ok, s.theirs.messages.join('; ')).toBe(true);
      expect(s.ours.ok).toBe(true);
    }
    // Timed in the page (which side wins is the benchmark's to say, not a test's), weighted by layers.
    expect(report.total).toMatchObject({ layers: 16, launches: 12 });
    expect(networkRan(report).ok).toBe(true);
    expect(networkRan(report).swapped).toBe(16);

    const page = await openReport('dw.html');
    const charts = await page.evaluate(() => {
      const Chart = (globalThis as unknown as { Chart: typeof import('chart.js').Chart }).Chart;
      return Array.from(document.querySelectorAll('canvas')).map((canvas) => {
        const c = Chart.getChart(canvas)!;
        // Redraw with fillText recorded: the point labels are canvas text, drawn by the page's plugin.
        const drawn: string[] = [];
        const fillText = c.ctx.fillText.bind(c.ctx);
        c.ctx.fillText = (text: string, x: number, y: number) => {
          drawn.push(text);
          fillText(text, x, y);
        };
        c.draw();
        return {
          id: canvas.id,
          labels: c.data.labels?.length ?? 0,
          datasets: c.data.datasets.map((d) => ({ label: d.label!, data: d.data as { x: number; y: number; name?: string }[] })),
          drawn,
        };
      });
    });
    // The roofline (the ceilings' two lines meeting at the knee, then stock and yours per timed model launch, each
    // point named on the chart) and the bars, per timed model launch; the edge launches are untimed.
    expect(charts.map((c) => [c.id, c.labels, c.datasets.map((d) => d.data.length)])).toEqual([
      ['roofline', 0, [2, 2, 12, 12]],
      ['launch-bars', 12, [12, 12]],
    ]);
    const [memory, compute, ...points] = charts[0]!.datasets;
    const ceilings = report.ceilings!;
    expect(memory!.label).toMatch(/^memory roof/);
    for (const p of memory!.data) expect(p.y / p.x).toBeCloseTo(ceilings.gbps, 6);
    expect(compute!.label).toMatch(/^compute roof/);
    expect(compute!.data.map((p) => p.y)).toEqual([ceilings.gflops, ceilings.gflops]);
    expect(compute!.data[0]!.x).toBeCloseTo(memory!.data[1]!.x, 9);
    for (const p of points.flatMap((d) => d.data)) {
      expect(p.name).toMatch(/^\d+\.\d+(\+\d+)?$/);
      expect(charts[0]!.drawn).toContain(p.name);
    }
    expect(await fitsWidth(page)).toBe(true);
    expect(chrome!.errors).toEqual([]);
    expect(readFileSync(join(dir, 'dw.html'), 'utf8')).toContain('naive_dwconv.wgsl');
  });

  test('the pointwise off-by-one: projections fail shape by shape, everything else passes, exit code 1; a failure table row per failing output', async () => {
    const r = await effnet('kernel-bench', '--op', 'pointwise', '--kernel', 'examples/kernels/pointwise_off_by_one.wgsl', ...SMALL, '--out', join(dir, 'pw.html'));
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as KernelBenchReport;
    expect(report.ok).toBe(false);
    for (const s of report.shapes) {
      expect(s.theirs.ok, s.layers[0]).toBe(!s.layers[0]!.endsWith('.project'));
      if (!s.theirs.ok) expect(s.theirs.messages[0]).toMatch(/^y: FAIL on pointwise\w* .*: \d+ of \d+ values wrong .*; first: \(n=\d+, .*c=\d+\) got .*, want /);
    }
    expect(networkRan(report).ok).toBe(false);

    // The report's failure table: a row per failing output, or per launch WebGPU refused.
    const page = await openReport('pw.html');
    const failing = report.shapes.filter((s) => !s.theirs.ok).reduce((n, s) => n + Math.max(s.theirs.failures.length, 1), 0);
    expect(failing).toBeGreaterThan(0);
    expect(await page.$$eval('#failure-table tbody tr', (rows) => rows.length)).toBe(failing);
    expect(await fitsWidth(page)).toBe(true);
    expect(chrome!.errors).toEqual([]);
  });
});
