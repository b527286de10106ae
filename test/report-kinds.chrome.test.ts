/**
 * `effnet report <kind>` end to end through the built CLI, each kind on a grid small enough for SwiftShader:
 * the JSON (structure, published columns, ratios, over-limit cells, exact memory), and the standalone HTML page,
 * which headless Chromium must render from file:// with no console errors and charts holding the report's points.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openChrome, type ChromeSession } from '../tools/harness/index.js';
import { FUSED_ABLATION, publishedModel } from '../tools/report/published.js';
import type { Cell, KindReport, ReportKind } from '../tools/report/kinds.js';
import { effnet, expectOneLineErrors } from './support/cli.js';
import { pageCharts } from './support/charts.js';

const dir = mkdtempSync(join(tmpdir(), 'effnet-report-kinds-'));
/** B0's and B4's passes (V2-S has six table stages). */
const STAGES = ['stem', 'stage1', 'stage2', 'stage3', 'stage4', 'stage5', 'stage6', 'stage7', 'head'];

/** Each kind at a tiny grid; every call writes the JSON to stdout and the HTML page to --out. */
const GRIDS: Record<ReportKind, string[]> = {
  'latency-table': ['--arch', 'efficientnet_b0,efficientnet_b0_small', '--res', '32', '--batch', '1,2'],
  'fused-ablation': ['--res', '32', '--batch', '1,2', '--fused', '0,3'],
  // 32 px × 4096 needs ~700 MB in all (over the budget); 64 px × 4096 a 1.5 GB buffer (over SwiftShader's 1 GiB limits).
  sweep: ['--arch', 'efficientnet_b0', '--res', '32,64', '--batch', '1,4096', '--memory-budget', '256'],
  'v1-vs-v2': ['--arch', 'efficientnet_b0,efficientnet_v2_s', '--res', '32'],
};


const reports = {} as Record<ReportKind, KindReport>;
let chrome: ChromeSession;


const cellsOf = (r: KindReport): Cell[] => r.rows.flatMap((row) => row.cells);

/** A measured cell: times, throughput and the model's own memory figures, consistent with the plan. */
function expectMeasured(c: Cell): void {
  expect(c.status, c.reason ?? '').toBe('ok');
  expect(c.ms).toBeGreaterThan(0);
  expect(c.wallMs).toBeGreaterThan(0);
  expect(c.imagesPerS).toBeCloseTo((c.batch / c.ms!) * 1000, 6);
  const m = c.memory.measured!;
  expect(m.weightBytes).toBe(c.memory.planned.weightBytes);
  // The cache holds this shape's schedule only: its arena as planned plus the uniforms.
  expect(m.schedules).toBe(1);
  expect(m.scheduleBytes).toBeGreaterThanOrEqual(c.memory.planned.arenaBytes);
  expect(m.scheduleBytes - c.memory.planned.arenaBytes).toBeLessThan(2 ** 20);
  expect(m.totalBytes).toBe(m.weightBytes + m.scheduleBytes + m.stagingBytes);
  // Stem, one pass per table stage, head: each timed.
  expect(c.stages[0]!.name).toBe('stem');
  expect(c.stages[c.stages.length - 1]!.name).toBe('head');
  expect(c.stages.slice(1, -1).map((s) => s.name)).toEqual(Array.from({ length: c.stages.length - 2 }, (_, i) => `stage${i + 1}`));
  if (c.stages.some((s) => s.ms !== null)) for (const s of c.stages) expect(s.ms).toBeGreaterThan(0);
}

beforeAll(async () => {
  const kinds = Object.keys(GRIDS) as ReportKind[];
  // Two CLI processes at a time: each spends much of its time compiling on one core.
  for (let i = 0; i < kinds.length; i += 2) {
    await Promise.all(kinds.slice(i, i + 2).map(async (kind) => {
      const r = await effnet('report', kind, ...GRIDS[kind], '--runs', '1', '--json', '--out', join(dir, `${kind}.html`));
      expect(r.code, r.stderr).toBe(0);
      reports[kind] = JSON.parse(r.stdout) as KindReport;
    }));
  }
  chrome = await openChrome({ '': dir }, { page: 'latency-table.html' });
});

afterAll(async () => {
  await chrome?.close();
});

describe('effnet report', () => {
  test('latency-table: ms and images/s per batch beside the published V100 figures and top-1', async () => {
    const r = reports['latency-table'];
    expect(r).toMatchObject({ format: 'effnet-report', kind: 'latency-table', host: 'node', batches: [1, 2], resolutions: [32] });
    expect(r.rows.map((row) => row.arch)).toEqual(['efficientnet_b0', 'efficientnet_b0_small']);
    for (const row of r.rows) {
      expect(row.published).toEqual(publishedModel(row.arch));
      expect(row.published!.v100Ms![1]).toBeGreaterThan(0);
      expect(row.cells.map((c) => c.batch)).toEqual([1, 2]);
      for (const c of row.cells) expectMeasured(c);
    }
    expect(r.sources.paddleclas!.where).toMatch(/PaddleClas/);

    const charts = await pageCharts(chrome, join(dir, 'latency-table.html'));
    expect(Object.keys(charts).sort()).toEqual(['chart-latency', 'chart-throughput']);
    const lat = charts['chart-latency']!;
    expect(lat.labels).toEqual(['efficientnet_b0', 'efficientnet_b0_small']);
    expect(lat.datasets.map((d) => d.label)).toEqual(['this device, batch 1', 'V100 FP32 (published), batch 1', 'this device, batch 2', 'V100 FP32 (published), batch 2']);
    expect(lat.datasets[0]!.data).toEqual(r.rows.map((row) => row.cells[0]!.ms));
    expect(lat.datasets[1]!.data).toEqual([1.96, 1.24]);
    // PaddleClas publishes batch 1, 4 and 8: there is no V100 bar at batch 2.
    expect(lat.datasets[3]!.data).toEqual([null, null]);
    const tp = charts['chart-throughput']!;
    expect(tp.labels).toEqual(['1', '2']);
    expect(tp.datasets[1]!.data).toEqual(r.rows[1]!.cells.map((c) => c.imagesPerS));
    const text = await chrome.page.evaluate(() => document.body.innerText);
    expect(text).toContain('(published: 224, resize 256)');
    expect(chrome.errors).toEqual([]);
  });

  test('fused-ablation: the paper\'s Table 3 columns beside ours, and the per-stage split', async () => {
    const r = reports['fused-ablation'];
    expect(r.rows.map((row) => [row.arch, row.fusedStages])).toEqual([['efficientnet_b4', 0], ['efficientnet_b4_fused3', 3]]);
    for (const [i, row] of r.rows.entries()) {
      expect(row.paper).toEqual(FUSED_ABLATION.rows[i]);
      // Same network as the paper's unfused B4: parameters agree to 1%, FLOPs (2 × its multiply-adds) to 5%.
      if (i === 0) {
        expect(row.params / 1e6 / row.paper!.paramsM).toBeCloseTo(1, 1);
        expect(Math.abs(row.flops / 1e9 / (2 * row.paper!.macsB) - 1)).toBeLessThan(0.05);
      }
      for (const c of row.cells) expectMeasured(c);
    }
    // Fusing adds parameters and FLOPs (a full conv where a depthwise one was).
    expect(r.rows[1]!.params).toBeGreaterThan(r.rows[0]!.params);
    expect(r.rows[1]!.flops).toBeGreaterThan(r.rows[0]!.flops);
    const blocks = (i: number) => r.rows[i]!.cells[1]!.stages.map((s) => s.block);
    expect(blocks(0).slice(1, 4)).toEqual(['mbconv', 'mbconv', 'mbconv']);
    expect(blocks(1).slice(1, 5)).toEqual(['fused', 'fused', 'fused', 'mbconv']);
    expect(r.sources.v2paper!.where).toMatch(/arXiv:2104\.00298/);

    const charts = await pageCharts(chrome, join(dir, 'fused-ablation.html'));
    expect(Object.keys(charts).sort()).toEqual(['chart-cost', 'chart-speedup', 'chart-stages']);
    const speed = charts['chart-speedup']!;
    expect(speed.datasets.map((d) => d.label)).toEqual(['this device (inference), batch 1', 'this device (inference), batch 2', 'paper: V100 training', 'paper: TPUv3 training']);
    expect(speed.datasets[0]!.data[0]).toBe(1);
    expect(speed.datasets[1]!.data[1]).toBeGreaterThan(0);
    expect(speed.datasets[2]!.data).toEqual([1, 216 / 155]);
    const cost = charts['chart-cost']!;
    expect(cost.datasets[1]!.data).toEqual([19.3, 20.0]);
    const stages = charts['chart-stages']!;
    expect(stages.labels).toEqual(STAGES);
    expect(stages.datasets).toHaveLength(2);
    expect(stages.datasets[1]!.data).toEqual(r.rows[1]!.cells[1]!.stages.map((s) => s.ms));
    const text = await chrome.page.evaluate(() => document.body.innerText);
    expect(text).toMatch(/Per-stage GPU time at batch 2/);
    expect(text).toMatch(/stage1: mbconv .* ms → fused .* ms in Fused stage1-3/);
    expect(chrome.errors).toEqual([]);
  });

  test('sweep: latency, images/s and exact memory per cell; cells over a limit or the budget marked, not run', async () => {
    const r = reports.sweep;
    expect(r.memoryBudgetBytes).toBe(256 * 2 ** 20);
    const cells = cellsOf(r);
    expect(cells.map((c) => `${c.res}x${c.batch}:${c.status}`)).toEqual(['32x1:ok', '32x4096:over-budget', '64x1:ok', '64x4096:over-limit']);
    for (const c of cells.filter((x) => x.status === 'ok')) expectMeasured(c);
    const overLimit = cells.find((c) => c.status === 'over-limit')!;
    expect(overLimit.memory.planned.largestBufferBytes).toBeGreaterThan(r.adapter.limits.maxStorageBufferBindingSize);
    expect(overLimit.reason).toMatch(/maxStorageBufferBindingSize/);
    expect(overLimit).toMatchObject({ ms: null, imagesPerS: null, memory: { measured: null } });
    const overBudget = cells.find((c) => c.status === 'over-budget')!;
    expect(overBudget.memory.planned.totalBytes).toBeGreaterThan(256 * 2 ** 20);
    expect(overBudget.memory.planned.largestBufferBytes).toBeLessThanOrEqual(r.adapter.limits.maxStorageBufferBindingSize);
    // The arena grows with the resolution and with the batch.
    expect(cells[2]!.memory.measured!.scheduleBytes).toBeGreaterThan(cells[0]!.memory.measured!.scheduleBytes);
    expect(cells[1]!.memory.planned.arenaBytes).toBeGreaterThan(1000 * cells[0]!.memory.planned.arenaBytes);

    const charts = await pageCharts(chrome, join(dir, 'sweep.html'));
    expect(Object.keys(charts).sort()).toEqual(['chart-sweep-latency', 'chart-sweep-memory', 'chart-sweep-throughput']);
    expect(charts['chart-sweep-latency']!.labels).toEqual(['1', '4096']);
    expect(charts['chart-sweep-latency']!.datasets[1]!.data).toEqual([cells[2]!.ms, null]);
    expect(charts['chart-sweep-throughput']!.datasets[0]!.data).toEqual([cells[0]!.imagesPerS, null]);
    const mem = charts['chart-sweep-memory']!;
    const total64 = mem.datasets.find((d) => d.label === '64×64: total MB')!;
    expect(total64.data).toEqual(cells.slice(2).map((c) => (c.memory.measured?.totalBytes ?? c.memory.planned.totalBytes) / 2 ** 20));
    expect(total64.pointStyle).toEqual(['circle', 'crossRot']);
    expect(mem.datasets.map((d) => d.label)).toContain('--memory-budget (256.0 MB)');
    const warn = await chrome.page.evaluate(() => document.querySelector('.warn')?.textContent ?? '');
    expect(warn).toMatch(/2 cell\(s\) not measured/);
    expect(chrome.errors).toEqual([]);
  });

  test('v1-vs-v2: latency against published top-1 as a Pareto chart', async () => {
    const r = reports['v1-vs-v2'];
    expect(r.rows.map((row) => [row.arch, row.published?.top1])).toEqual([['efficientnet_b0', 77.4], ['efficientnet_v2_s', 83.9]]);
    for (const c of cellsOf(r)) expectMeasured(c);
    expect(Object.keys(r.sources).sort()).toEqual(['paddleclas', 'v2paper']);

    const charts = await pageCharts(chrome, join(dir, 'v1-vs-v2.html'));
    const pareto = charts['chart-pareto']!;
    expect(pareto.type).toBe('scatter');
    expect(pareto.datasets.map((d) => d.label)).toEqual(['EfficientNet (V1)', 'EfficientNetV2', 'Pareto front']);
    expect(pareto.datasets[0]!.data).toEqual([{ x: r.rows[0]!.cells[0]!.ms, y: 77.4, arch: 'efficientnet_b0' }]);
    expect(pareto.datasets[1]!.data).toEqual([{ x: r.rows[1]!.cells[0]!.ms, y: 83.9, arch: 'efficientnet_v2_s' }]);
    // B0 is the faster one here and V2-S the more accurate, so neither dominates: both are on the front.
    expect(pareto.datasets[2]!.data).toHaveLength(r.rows[0]!.cells[0]!.ms! < r.rows[1]!.cells[0]!.ms! ? 2 : 1);
    expect(chrome.errors).toEqual([]);
  });

  test('--host chrome at the published crop: the ratio to the V100 figure, and Markdown out', async () => {
    const md = join(dir, 'chrome.md');
    const r = await effnet('report', 'latency-table', '--arch', 'efficientnet_b0_small', '--batch', '1', '--runs', '1', '--host', 'chrome', '--json', '--out', md);
    expect(r.code, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout) as KindReport;
    expect(c).toMatchObject({ host: 'chrome', adapter: { host: 'browser' }, resolutions: [224] });
    expectMeasured(c.rows[0]!.cells[0]!);
    const text = readFileSync(md, 'utf8');
    const row = text.split('\n').find((l) => l.startsWith('| efficientnet_b0_small'))!;
    expect(row).toContain('224 (resize 256)');
    // ours / V100 at batch 1: a positive ratio in the row.
    expect(row).toMatch(/\| +1\.24 \| +\d+\.\d\d× \|/);
    expect(text).toContain('## Sources');
  });

  test('--from: a report written elsewhere (a GPU machine\'s JSON) rendered again as Markdown and HTML', async () => {
    const json = join(dir, 'sweep.json');
    writeFileSync(json, JSON.stringify(reports.sweep));
    const md = await effnet('report', '--from', json);
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout).toContain('## efficientnet_b0: batch × resolution');
    expect(md.stdout).toMatch(/64×64, batch 4096 — over-limit: needs a 1536\.0 MB buffer/);
    const html = await effnet('report', '--from', json, '--out', join(dir, 'again.html'));
    expect(html.code, html.stderr).toBe(0);
    const charts = await pageCharts(chrome, join(dir, 'again.html'));
    expect(Object.keys(charts).sort()).toEqual(['chart-sweep-latency', 'chart-sweep-memory', 'chart-sweep-throughput']);
    expect(chrome.errors).toEqual([]);
  });

  test('bad arguments: one line naming the problem, before any GPU work', async () => {
    const cases: [string[], RegExp][] = [
      [['report'], /report needs a kind: latency-table, fused-ablation, sweep, v1-vs-v2/],
      [['report', 'pareto'], /unknown report kind 'pareto'/],
      [['report', 'sweep', '--arch', 'efficientnet_b0,efficientnet_b1'], /--arch takes one architecture for sweep/],
      [['report', 'sweep', '--fused', '3'], /--fused is for fused-ablation only/],
      [['report', 'latency-table', '--res', '4'], /--res takes integers ≥ 8, got '4'/],
      [['report', 'fused-ablation', '--res', '32,64'], /--res takes one size for fused-ablation \(the sweep takes a list\)/],
      [['report', 'latency-table', '--batch', '1,,2'], /--batch takes a comma-separated list/],
      [['report', 'latency-table', '--arch', 'efficientnet_b9'], /unknown architecture 'efficientnet_b9'/],
      [['report', 'fused-ablation', '--fused', '9'], /count must be an integer in 0\.\.7, got 9/],
      [['report', 'v1-vs-v2', '--batch', '1,8'], /--batch takes one size for v1-vs-v2/],
      [['report', 'v1-vs-v2', '--arch', 'efficientnet_v2_xl'], /no published top-1 for it/],
      [['report', 'sweep', '--memory-budget', '0'], /--memory-budget must be a positive number, got 0/],
      [['report', 'sweep', '--out', join(dir, 'x.txt')], /unsupported extension '\.txt'; use \.json, \.md, \.html/],
      [['report', 'sweep', '--host', 'safari'], /--host must be node or chrome, got safari/],
      [['report', '--from', join(dir, 'missing.json')], /cannot read report .*missing\.json: no such file/],
      [['report', 'sweep', '--from', join(dir, 'missing.json')], /--from takes a report file and --out only, not sweep/],
    ];
    await expectOneLineErrors(cases);
  });
});
