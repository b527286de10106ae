import { describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
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

  // No stored export at 64 px and no PyTorch anywhere: the peers' files are written from the loaded weights.
  test('LiteRT, ORT and our CPU fallback on written models: B0@64, and B3 (no fixture: seeded random weights), agreeing, cached', async () => {
    const saved = process.env.EFFNET_CACHE;
    const cache = mkdtempSync(join(tmpdir(), 'effnet-bench-'));
    process.env.EFFNET_CACHE = cache;
    const args = ['--res', '64', '--batch', '1', '--runs', '3', '--budget-s', '1', '--json'];
    const [r, b3] = await (async () => [
      await bench('--arch', 'efficientnet_b0', '--peers', 'litert-wasm,litert-webgpu,ort-wasm,effnet-cpu', ...args),
      await bench('--arch', 'efficientnet_b3', '--peers', 'ort-wasm', ...args),
    ])().finally(() => {
      if (saved === undefined) delete process.env.EFFNET_CACHE;
      else process.env.EFFNET_CACHE = saved;
    });
    try {
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as BenchReport;
      expect(report.runs.map((x) => [x.engine, x.res, x.status])).toEqual([
        ['effnet-webgpu', 64, 'ok'],
        ['ort-wasm', 64, 'ok'],
        ['litert-wasm', 64, 'ok'],
        // Our CPU fallback right after the peer its median is set against.
        ['effnet-cpu', 64, 'ok'],
        ['litert-webgpu', 64, 'ok'],
      ]);
      for (const row of report.runs.slice(1)) {
        expect(row.maxAbsDiff!, row.engine).toBeLessThan(1e-4);
        expect(row.agrees).toBe(true);
        expect(report.ratios[`${row.engine}/effnet-webgpu@efficientnet_b0@64@b1`]).toBeCloseTo(row.medianMs! / report.runs[0]!.medianMs!, 9);
      }
      expect(report.runs.find((x) => x.engine === 'litert-wasm')!.detail).toMatch(/^wasm \(XNNPACK\), \d+ threads?$/);
      expect(report.runs.find((x) => x.engine === 'litert-webgpu')!.detail).toBe('webgpu accelerator');
      // The fallback row: loadModel({ backend: 'cpu' }) on LiteRT's wasm with the peer's thread count, and its
      // median over litert-wasm's as its own field and line (speed is the printed number's business, not a test's).
      const [lw, cpu] = ['litert-wasm', 'effnet-cpu'].map((e) => report.runs.find((x) => x.engine === e)!);
      expect(cpu!.detail).toMatch(/^loadModel\(\{ backend: 'cpu' \}\): LiteRT\.js wasm \(XNNPACK\), (\d+) threads?$/);
      expect(cpu!.detail!.match(/(\d+) threads?$/)![1]).toBe(lw!.detail!.match(/(\d+) threads?$/)![1]);
      // Measured together, run by run, so the ratio is taken under the same load.
      expect(cpu!.note).toMatch(/steady-state runs interleaved with litert-wasm/);
      expect(lw!.note).toMatch(/steady-state runs interleaved with effnet-cpu/);
      expect(cpu!.runs).toBe(lw!.runs);
      const fallbackKey = 'effnet-cpu/litert-wasm@efficientnet_b0@64@b1';
      expect(Object.keys(report.fallback)).toEqual([fallbackKey]);
      expect(Number.isFinite(report.fallback[fallbackKey])).toBe(true);
      expect(report.fallback[fallbackKey]).toBeCloseTo(cpu!.medianMs! / lw!.medianMs!, 9);
      expect(markdownReport(report)).toContain(`CPU fallback vs litert-wasm: ${report.fallback[fallbackKey]!.toFixed(2)}× (effnet-cpu median`);
      expect(await htmlReport(report)).toContain(`"fallback":{"${fallbackKey}"`);
      // One .tflite and one .onnx, written once into the cache and named by their hash, each with its sha256.
      const written = readdirSync(join(cache, 'peer-models')).sort();
      expect(written.filter((f) => f.startsWith('efficientnet_b0-'))).toEqual([
        expect.stringMatching(/^efficientnet_b0-64-b1-[0-9a-f]{16}\.onnx$/),
        expect.stringMatching(/^efficientnet_b0-64-b1-[0-9a-f]{16}\.onnx\.sha256$/),
        expect.stringMatching(/^efficientnet_b0-64-b1-[0-9a-f]{16}\.tflite$/),
        expect.stringMatching(/^efficientnet_b0-64-b1-[0-9a-f]{16}\.tflite\.sha256$/),
      ]);
      expect(r.stderr).toMatch(/bench: wrote .*efficientnet_b0-64-b1-[0-9a-f]{16}\.tflite/);

      expect(b3.code, b3.stderr).toBe(0);
      const b3Report = JSON.parse(b3.stdout) as BenchReport;
      const [ours, ort] = b3Report.runs;
      expect(ours!.note).toMatch(/^seeded random weights \(seed 1\): .* holds no torchvision fixture for efficientnet_b3/);
      expect([ort!.engine, ort!.status, ort!.agrees]).toEqual(['ort-wasm', 'ok', true]);
      expect(written.filter((f) => f.startsWith('efficientnet_b3-'))).toEqual([
        expect.stringMatching(/^efficientnet_b3-64-b1-[0-9a-f]{16}\.onnx$/),
        expect.stringMatching(/^efficientnet_b3-64-b1-[0-9a-f]{16}\.onnx\.sha256$/),
        expect.stringMatching(/^efficientnet_b3-random-[0-9a-f]{16}\.safetensors$/),
      ]);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  test.each([
    [['--peers', 'ort-wasm,onnx-native'], "unknown peer 'onnx-native' (choose from ort-webgpu, ort-wasm, tfjs-webgpu, tfjs-wasm, litert-webgpu, litert-wasm, effnet-cpu)"],
    [['--arch', 'resnet50'], "unknown arch 'resnet50' (choose from efficientnet_b0,"],
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
