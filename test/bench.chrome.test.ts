import { describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchReport } from '../tools/peers/peers.js';
import { htmlReport, markdownReport } from '../tools/peers/report.js';
import { BROWSER_DIST } from '../tools/harness/index.js';
import { effnet } from './support/cli.js';

const FIXTURES = fileURLToPath(new URL('../../shared/fixtures/', import.meta.url));
const bench = (...args: string[]) => effnet('bench', '--fixtures', FIXTURES, ...args);

describe('effnet bench (headless Chromium, peers as devDependencies)', () => {
  // ORT's wasm EP is the quickest peer; the stored ONNX export fixes 224×224 (only the batch is dynamic).
  test('ours vs ORT wasm on torchvision B0: JSON shape, agreeing logits, ratio, budget, reports', async () => {
    const r = await bench('--arch', 'efficientnet_b0', '--peers', 'ort-wasm', '--batch', '1', '--runs', '4', '--budget-s', '1', '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as BenchReport;
    expect(report.adapter.host).toBe('browser');
    expect(report.runs.map((x) => [x.engine, x.model, x.res, x.batch, x.status])).toEqual([
      ['effnet-webgpu', 'efficientnet_b0', 224, 1, 'ok'],
      ['ort-wasm', 'efficientnet_b0', 224, 1, 'ok'],
    ]);
    for (const row of report.runs) {
      for (const v of [row.loadMs, row.firstMs, row.medianMs, row.p90Ms, row.imagesPerS]) expect(v).toBeGreaterThan(0);
      expect(row.p90Ms!).toBeGreaterThanOrEqual(row.medianMs!);
      expect(row.firstResultMs).toBeCloseTo(row.loadMs! + row.firstMs!, 6);
      expect(row.settleMs).toBeGreaterThanOrEqual(0);
      // Load + first run alone exceed the 1 s budget, so each row stops at the minimum of 3 runs.
      expect(row.runs).toBe(3);
      expect(row.note).toMatch(/budget of 1 s spent after 3 of 4 runs/);
    }
    const [ours, ort] = report.runs;
    expect(ours!.maxAbsDiff).toBeNull();
    // Same torchvision weights, same input: both are f32 engines.
    expect(ort!.compared).toBe('logits');
    expect(ort!.maxAbsDiff!).toBeLessThan(1e-4);
    expect(ort!.agrees).toBe(true);
    const key = 'ort-wasm/effnet-webgpu@efficientnet_b0@224@b1';
    expect(Object.keys(report.ratios)).toEqual([key]);
    expect(report.ratios[key]).toBeCloseTo(ort!.medianMs! / ours!.medianMs!, 9);
    for (const phase of ['ort-wasm efficientnet_b0@224 ×1: loading', 'first run', 'run 3/4']) expect(r.stderr).toContain(phase);

    const md = markdownReport(report);
    expect(md).toMatch(/\| ort-wasm \| efficientnet_b0 \| 224 \| 1 \|.*\| 3 \| .*\(logits\) \| [\d.]+× \|/);
    // Our row says which schedule ran: the adapter's target, and no tuning (bench passes none unless --tuning).
    expect(ours!.detail).toMatch(/fallback target, planned tiles \(no tuning\)$/);
    expect(md).toContain(`What ran: effnet-webgpu: ${ours!.detail}`);
    expect(md).toMatch(/What ran: ort-wasm: wasm EP, \d+ threads/);
    const html = await htmlReport(report);
    expect(html).toContain('<canvas id="bench-chart">');
    expect(html).toContain(readFileSync(join(BROWSER_DIST, 'peers-chart.js'), 'utf8').slice(0, 500));
    expect(html).toContain(`"ratios":{"${key}"`);
  });

  test('without PyTorch, a resolution with no stored ONNX skips the ORT rows and names the apt line', async () => {
    const saved = { python: process.env.EFFNET_PYTHON, cache: process.env.EFFNET_CACHE };
    process.env.EFFNET_PYTHON = '/nonexistent/python3';
    process.env.EFFNET_CACHE = mkdtempSync(join(tmpdir(), 'effnet-bench-'));
    const r = await bench('--arch', 'efficientnet_b0', '--res', '96', '--peers', 'ort-wasm', '--batch', '1', '--json').finally(() => {
      for (const [k, v] of [['EFFNET_PYTHON', saved.python], ['EFFNET_CACHE', saved.cache]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as BenchReport;
    const ort = report.runs.find((x) => x.engine === 'ort-wasm')!;
    expect(ort.status).toBe('skipped');
    expect(ort.note).toContain('apt-get update && apt-get install -y python3-torch python3-torchvision python3-onnx');
    expect(report.ratios).toEqual({});
  });

  test.each([
    [['--peers', 'ort-wasm,onnx-native'], "unknown peer 'onnx-native' (choose from ort-webgpu, ort-wasm, tfjs-webgpu, tfjs-wasm)"],
    [['--arch', 'resnet50'], "unknown arch 'resnet50'"],
    [['--arch', 'efficientnet_b3'], 'no torchvision fixture for efficientnet_b3'],
    [['--runs', '0'], '--runs must be a positive integer, got 0'],
    [['--out', 'report.pdf'], '--out must name a .html or .md file'],
  ])('bad input %j: one line, non-zero exit', async (args, message) => {
    const r = await bench(...args);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(message);
  });
});
