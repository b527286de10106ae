/**
 * `effnet kernel-bench --host chrome`: both examples on B0 at a small resolution in headless Chromium, as a
 * user runs them — the naive depthwise kernel passes every shape and is slower than ours; the pointwise
 * off-by-one is caught on exactly the layers that apply the SE gate, with exit code 1 — and the HTML report,
 * which Chromium must render from file:// with the per-shape bars and the roofline holding the report's data.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KernelBenchReport, NetworkResult } from '../src/kernel-bench/bench.js';
import { openChrome, type ChromeSession } from '../tools/harness/index.js';
import { effnet } from './support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'effnet-kernel-bench-'));
const SMALL = ['--res', '32', '--runs', '2', '--host', 'chrome', '--json'];
let chrome: ChromeSession | undefined;

/** The whole-network result, which must have run. */
function network(r: KernelBenchReport): NetworkResult {
  if ('error' in r.network) throw new Error(`the network did not run: ${r.network.error}`);
  return r.network;
}

afterAll(async () => {
  await chrome?.close();
});

describe('effnet kernel-bench in headless Chromium', () => {
  test('naive depthwise: every B0 shape correct, slower than ours in total, network parity; the HTML report renders', async () => {
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
    if (report.timer === 'timestamp-query') {
      const total = (side: 'ours' | 'theirs') => report.shapes.filter((s) => s.set === 'model').reduce((a, s) => a + s[side].ms! * s.layers.length, 0);
      expect(total('theirs')).toBeGreaterThan(total('ours'));
    }
    expect(network(report).ok).toBe(true);
    expect(network(report).swapped).toBe(16);

    chrome = await openChrome({ '': dir }, { page: 'dw.html' });
    const charts = await chrome.page.evaluate(() => {
      const Chart = (globalThis as unknown as { Chart: typeof import('chart.js').Chart }).Chart;
      return Array.from(document.querySelectorAll('canvas')).map((canvas) => {
        const c = Chart.getChart(canvas)!;
        return { id: canvas.id, labels: c.data.labels?.length ?? 0, datasets: c.data.datasets.map((d) => (d.data as unknown[]).length) };
      });
    });
    // Bars for every row (the edge launches' untimed ones empty), roofline points for the timed model launches.
    const rows = report.shapes.length;
    expect(charts).toEqual([
      { id: 'shape-bars', labels: rows, datasets: [rows, rows] },
      { id: 'roofline', labels: 0, datasets: [12, 12] },
    ]);
    expect(chrome.errors).toEqual([]);
    expect(readFileSync(join(dir, 'dw.html'), 'utf8')).toContain('naive_dwconv.wgsl');
  });

  test('the pointwise off-by-one: projections fail shape by shape, everything else passes, exit code 1', async () => {
    const r = await effnet('kernel-bench', '--op', 'pointwise', '--kernel', 'examples/kernels/pointwise_off_by_one.wgsl', ...SMALL);
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as KernelBenchReport;
    expect(report.ok).toBe(false);
    for (const s of report.shapes) {
      expect(s.theirs.ok, s.layers[0]).toBe(!s.layers[0]!.endsWith('.project'));
      if (!s.theirs.ok) expect(s.theirs.messages[0]).toMatch(/^y: FAIL on pointwise\w* .*: \d+ of \d+ values wrong .*; first: \(n=\d+, .*c=\d+\) got .*, want /);
    }
    expect(network(report).ok).toBe(false);
  });
});
