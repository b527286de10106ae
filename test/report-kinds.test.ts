/**
 * `effnet report` without a GPU: the published figures are consistent with the zoo they describe, and what the
 * reports derive from measurements (ratios, speedups, the Pareto front, equal-accuracy rivals) is right on
 * hand-made reports.
 */
import { describe, expect, test } from 'vitest';
import { getArch, withFusedStages } from '../src/model/tables.js';
import { modelInfo } from '../src/model/info.js';
import type { AdapterReport } from '../src/gpu.js';
import {
  equalAccuracy, kindMarkdown, paretoPoints, speedupVsFirst, v100Ratio, type Cell, type KindReport, type ReportRow,
} from '../tools/report/kinds.js';
import { FUSED_ABLATION, KIND_DEFAULTS, PUBLISHED_MODELS, SOURCES, publishedModel } from '../tools/report/published.js';

describe('published figures', () => {
  test('every published model is a zoo architecture, evaluated at its own resolution', () => {
    for (const m of PUBLISHED_MODELS) {
      const spec = getArch(m.arch);
      if (m.crop !== undefined) {
        expect(m.crop, m.arch).toBe(spec.resolution);
        // PaddleClas resizes the short side to crop + 32 before the centre crop.
        expect(m.resizeShort, m.arch).toBe(m.crop + 32);
      }
      expect(m.top1).toBeGreaterThan(70);
      expect(m.top1).toBeLessThan(90);
      expect(SOURCES[m.top1Source]).toBeDefined();
      if (m.v100Ms) {
        expect(Object.keys(m.v100Ms)).toEqual(['1', '4', '8']);
        // Bigger batches take longer but cost less per image.
        expect(m.v100Ms[4]! > m.v100Ms[1]! && m.v100Ms[8]! > m.v100Ms[4]!).toBe(true);
        expect(m.v100Ms[8]! / 8).toBeLessThan(m.v100Ms[1]!);
      }
    }
    expect(PUBLISHED_MODELS.filter((m) => m.v100Ms).map((m) => m.arch)).toHaveLength(9);
    expect(PUBLISHED_MODELS.filter((m) => KIND_DEFAULTS.v1VsV2.families.includes(m.family))).toHaveLength(11);
  });

  test('the V2 paper\'s Table 3 rows name valid ablations of its base; the unfused one is our B4', () => {
    const base = getArch(FUSED_ABLATION.base);
    for (const row of FUSED_ABLATION.rows) expect(() => withFusedStages(base, row.fusedStages)).not.toThrow();
    const b4 = modelInfo(base);
    expect(b4.params / 1e6).toBeCloseTo(FUSED_ABLATION.rows[0]!.paramsM, 1);
    expect(Math.abs(b4.flops / 2 / 1e9 / FUSED_ABLATION.rows[0]!.macsB - 1)).toBeLessThan(0.05);
  });
});

const adapter = {
  host: 'node', vendor: 'test', architecture: 'test', device: 'test', description: 'test', isFallback: false,
  features: { timestampQuery: true, shaderF16: false, subgroups: false },
  limits: { maxStorageBufferBindingSize: 2 ** 30, maxBufferSize: 2 ** 30, maxComputeWorkgroupSizeX: 256, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupsPerDimension: 65535, maxStorageBuffersPerShaderStage: 10 },
} satisfies AdapterReport;

const cell = (res: number, batch: number, ms: number | null): Cell => ({
  res, batch, status: ms === null ? 'failed' : 'ok', reason: ms === null ? 'test' : null, ms, wallMs: ms, imagesPerS: ms === null ? null : (batch / ms) * 1000,
  memory: { planned: { weightBytes: 1, arenaBytes: 1, stagingBytes: 1, totalBytes: 3, largestBufferBytes: 1 }, measured: null }, stages: [],
});

const row = (arch: string, cells: Cell[], o: Partial<ReportRow> = {}): ReportRow => ({
  arch, label: arch, params: 1e6, flops: 1e9, resolution: getArch(arch).resolution, fusedStages: null, published: publishedModel(arch) ?? null, paper: null, cells, ...o,
});

const report = (kind: KindReport['kind'], rows: ReportRow[], batches: number[]): KindReport => ({
  format: 'effnet-report', kind, host: 'node', adapter, timer: 'timestamp-query', runs: 1, budgetS: null, memoryBudgetBytes: null,
  resolutions: [...new Set(rows.flatMap((r) => r.cells.map((c) => c.res)))], batches, rows, sources: {}, createdAt: '2026-01-01T00:00:00.000Z',
});

describe('derived figures', () => {
  test('the V100 ratio only where we ran the published crop', () => {
    const at224 = row('efficientnet_b0', [cell(224, 1, 3.92), cell(224, 4, 7.42)]);
    expect(v100Ratio(at224, 1)).toBeCloseTo(2, 9);
    expect(v100Ratio(at224, 4)).toBeCloseTo(2, 9);
    expect(v100Ratio(row('efficientnet_b0', [cell(32, 1, 1)]), 1)).toBeNull();
    expect(v100Ratio(row('efficientnet_v2_s', [cell(384, 1, 1)]), 1)).toBeNull();
  });

  test('speedups over the first (unfused) row, and none where a cell failed', () => {
    const r = report('fused-ablation', [row('efficientnet_b4', [cell(32, 1, 10), cell(32, 8, 40)]), row('efficientnet_b4', [cell(32, 1, 5), cell(32, 8, null)])], [1, 8]);
    expect(speedupVsFirst(r, r.rows[1]!, 1)).toBeCloseTo(2, 9);
    expect(speedupVsFirst(r, r.rows[1]!, 8)).toBeNull();
  });

  test('the Pareto front and the fastest rival at equal accuracy', () => {
    const r = report('v1-vs-v2', [
      row('efficientnet_b0', [cell(224, 1, 1)]), // 77.4
      row('efficientnet_b3', [cell(300, 1, 4)]), // 81.2
      row('efficientnet_b4', [cell(380, 1, 3)]), // 82.9: faster and better than B3
      row('efficientnet_b7', [cell(600, 1, 30)]), // 84.3
      row('efficientnet_v2_s', [cell(384, 1, 10)]), // 83.9
      row('efficientnet_v2_l', [cell(480, 1, 50)]), // 85.7: nothing V1 reaches it
    ], [1]);
    const front = paretoPoints(r).filter((p) => p.front).map((p) => p.arch);
    expect(front).toEqual(['efficientnet_b0', 'efficientnet_b4', 'efficientnet_b7', 'efficientnet_v2_s', 'efficientnet_v2_l']);
    const eq = equalAccuracy(r);
    expect(eq.map((e) => [e.arch, e.rival?.arch ?? null, e.speedup])).toEqual([['efficientnet_v2_s', 'efficientnet_b7', 3], ['efficientnet_v2_l', null, null]]);
    const md = kindMarkdown(r);
    expect(md).toContain('| efficientnet_v2_s |    83.9 | 10.00 | efficientnet_b7');
    expect(md).toMatch(/none reaches it/);
  });
});
