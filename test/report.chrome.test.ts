/**
 * `effnet profile` end to end: a real (small) B0 profile as JSON and as the standalone HTML report, which
 * headless Chromium must render from file:// with its three charts holding the profile's data; --compare;
 * --host chrome; and the one-line errors for bad arguments.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openChrome, type ChromeSession } from '../tools/harness/index.js';
import type { ProfileReport } from '../tools/report/model.js';
import { effnet, expectOneLineErrors } from './support/cli.js';
import { pageCharts } from './support/charts.js';

const dir = mkdtempSync(join(tmpdir(), 'effnet-report-'));
const SMALL = ['--arch', 'efficientnet_b0', '--res', '64', '--runs', '2'];
const STAGES = ['stem', 'stage1', 'stage2', 'stage3', 'stage4', 'stage5', 'stage6', 'stage7', 'head'];


let report: ProfileReport;
let chrome: ChromeSession;


beforeAll(async () => {
  // One real profile serves the JSON, HTML and compare tests: --json to stdout and the HTML page to --out.
  const r = await effnet('profile', ...SMALL, '--detail', '--json', '--out', join(dir, 'b0.html'));
  expect(r.code, r.stderr).toBe(0);
  report = JSON.parse(r.stdout) as ProfileReport;
  writeFileSync(join(dir, 'b0.json'), r.stdout);
  chrome = await openChrome({ '': dir }, { page: 'b0.html' });
});

afterAll(async () => {
  await chrome?.close();
});

describe('effnet profile', () => {
  test('--json: the run, the adapter and per-stage numbers', () => {
    expect(report).toMatchObject({ arch: 'efficientnet_b0', res: 64, batch: 1, runs: 2, host: 'node', weights: 'random', detail: true, timer: 'timestamp-query' });
    expect(report.adapter).toMatchObject({ host: 'node', isFallback: true });
    expect(report.timerResolutionNs).toBeGreaterThan(0);
    expect(report.totalMs).toBeGreaterThan(0);
    expect(report.unprofiledMs).toBeGreaterThan(0);
    expect(typeof report.overheadPct).toBe('number');
    expect(report.stages.map((s) => s.name)).toEqual(STAGES);
    for (const s of report.stages) {
      expect(s.ms).toBeGreaterThan(0);
      expect(s.p10Ms).toBeLessThanOrEqual(s.p90Ms!);
      expect(s.flops).toBeGreaterThan(0);
      expect(s.bytes).toBeGreaterThan(0);
      expect(s.gflops).toBeCloseTo(s.flops / s.ms! / 1e6, 6);
      expect(s.gbps).toBeCloseTo(s.bytes / s.ms! / 1e6, 6);
      for (const k of s.kernels) expect(k.ms).toBeGreaterThan(0);
    }
    expect(report.stages[0]).toMatchObject({ block: 'stem', resolution: '64×64' });
    expect(report.stages[1]!.block).toBe('MBConv');
    expect(report.stages.reduce((a, s) => a + s.share!, 0)).toBeCloseTo(1, 6);
  });

  test('the HTML report renders from file:// with a bar per stage, a kernel breakdown and a roofline', async () => {
    const html = readFileSync(join(dir, 'b0.html'), 'utf8');
    // Standalone: nothing is fetched from anywhere.
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet/);
    const charts = await pageCharts(chrome, join(dir, 'b0.html'));
    expect(Object.keys(charts).sort()).toEqual(['chart-kernels', 'chart-roofline', 'chart-stages']);

    const stages = charts['chart-stages']!;
    expect(stages.type).toBe('bar');
    expect(stages.labels.map((l) => (l as string[])[0])).toEqual(STAGES);
    expect(stages.datasets).toHaveLength(1);
    expect(stages.datasets[0]!.data).toEqual(report.stages.map((s) => s.ms));

    const kernels = charts['chart-kernels']!;
    expect(kernels.labels.length).toBeGreaterThanOrEqual(4);
    expect(kernels.datasets.map((d) => d.label)).toEqual(['share of GPU time', 'share of FLOPs', 'share of bytes moved']);
    for (const d of kernels.datasets) expect((d.data as number[]).reduce((a, x) => a + x, 0)).toBeCloseTo(100, 6);

    const roofline = charts['chart-roofline']!;
    expect(roofline.type).toBe('scatter');
    const points = roofline.datasets.find((d) => d.label === 'stages')!.data as { x: number; y: number }[];
    expect(points).toHaveLength(STAGES.length);
    for (const p of points) expect(p.x > 0 && p.y > 0).toBe(true);
    const launches = roofline.datasets.filter((d) => d.label.endsWith('launches')).reduce((a, d) => a + d.data.length, 0);
    expect(launches).toBeGreaterThan(60);

    const page = await chrome.page.evaluate(() => ({
      title: document.querySelector('h1')!.textContent,
      subtitle: document.querySelector('.subtitle')!.textContent,
      stageRows: document.querySelectorAll('table.totals tbody tr').length,
      canvasSizes: Array.from(document.querySelectorAll('canvas')).map((c) => c.width * c.height),
    }));
    expect(page.title).toBe('effnet profile: efficientnet_b0 @ 64×64, batch 1');
    expect(page.subtitle).toMatch(/software fallback.*timestamp-query.*overhead/);
    expect(page.stageRows).toBe(STAGES.length + 1);
    for (const size of page.canvasSizes) expect(size).toBeGreaterThan(0);
    expect(chrome.errors).toEqual([]);
  });

  test('--compare: stages side by side as Markdown and as a grouped bar chart', async () => {
    const fused = await effnet('profile', ...SMALL, '--fused-stages', '3', '--out', join(dir, 'fused3.json'));
    expect(fused.code, fused.stderr).toBe(0);
    const a = join(dir, 'b0.json');
    const b = join(dir, 'fused3.json');

    const md = await effnet('profile', '--compare', a, b);
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout).toContain(`- **A**: efficientnet_b0 · 64px · batch 1`);
    expect(md.stdout).toContain(`- **B**: efficientnet_b0 fused 1..3 · 64px · batch 1`);
    const rows = md.stdout.split('\n').filter((l) => /^\| (stem|stage\d|head|total)\b/.test(l));
    expect(rows).toHaveLength(STAGES.length + 1);
    expect(rows.find((l) => l.startsWith('| stage2'))).toContain('stage2 (MBConv / Fused-MBConv)');
    for (const row of rows) expect(row).toMatch(/\d+\.\d\d× \|$/);

    const out = await effnet('profile', '--compare', a, b, '--out', join(dir, 'cmp.html'));
    expect(out.code, out.stderr).toBe(0);
    const charts = await pageCharts(chrome, join(dir, 'cmp.html'));
    const cmp = charts['chart-compare']!;
    expect(cmp.labels).toEqual(STAGES);
    expect(cmp.datasets).toHaveLength(2);
    expect(cmp.datasets[0]!.data).toEqual(report.stages.map((s) => s.ms));
    expect(chrome.errors).toEqual([]);
  });

  test('--host chrome: the profile runs inside headless Chromium', async () => {
    const r = await effnet('profile', ...SMALL, '--host', 'chrome', '--json');
    expect(r.code, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout) as ProfileReport;
    expect(c).toMatchObject({ host: 'chrome', arch: 'efficientnet_b0', res: 64 });
    expect(c.adapter.host).toBe('browser');
    expect(c.stages.map((s) => s.name)).toEqual(STAGES);
    if (c.timer === 'timestamp-query') {
      for (const s of c.stages) expect(s.ms).toBeGreaterThan(0);
      // The harness starts Chromium with --enable-webgpu-developer-features: no 100 µs quantisation.
      expect(c.timerResolutionNs).toBeLessThan(100_000);
    } else {
      for (const s of c.stages) expect(s.ms).toBeNull();
    }
  });

  test('bad arguments: one line naming the problem, non-zero exit', async () => {
    writeFileSync(join(dir, 'not-a-report.json'), JSON.stringify({ hello: 'world' }));
    const cases: [string[], RegExp][] = [
      [['profile', '--arch', 'efficientnet_b9'], /unknown architecture 'efficientnet_b9'; known: efficientnet_b0/],
      [['profile', '--arch', 'efficientnet_b0', '--out', join(dir, 'x.txt')], /unsupported extension '\.txt'; use \.json, \.md, \.html/],
      [['profile', '--arch', 'efficientnet_b0', '--fused-stages', '9'], /count must be an integer in 0\.\.7, got 9/],
      [['profile', '--compare', join(dir, 'b0.json'), join(dir, 'missing.json')], /cannot read report .*missing\.json: no such file/],
      [['profile', '--compare', join(dir, 'b0.json'), join(dir, 'not-a-report.json')], /not-a-report\.json is not an effnet profile report/],
      [['profile', '--compare', join(dir, 'b0.json')], /--compare needs at least two report files/],
      [['profile', '--compare', join(dir, 'b0.json'), join(dir, 'b0.json'), '--out', join(dir, 'c.json')], /unsupported extension '\.json'; use \.md, \.html/],
    ];
    await expectOneLineErrors(cases);
  });
});
