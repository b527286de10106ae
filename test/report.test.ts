/** The profile report as data: JSON fields, Markdown tables (timestamp and submit timers), comparisons. */
import { describe, expect, test } from 'vitest';
import type { AdapterReport } from '../src/gpu.js';
import type { Profile, StageProfile } from '../src/profile.js';
import {
  compareMarkdown, compareReports, kernelTypes, parseProfileReport, profileMarkdown, toProfileReport,
} from '../tools/report/model.js';

const adapter: AdapterReport = {
  host: 'node', vendor: 'google', architecture: 'swiftshader', device: 'swiftshader-device-subzero', description: '', isFallback: true,
  features: { timestampQuery: true, shaderF16: false, subgroups: true },
  limits: { maxStorageBufferBindingSize: 1 << 30, maxBufferSize: 1 << 30, maxComputeWorkgroupSizeX: 256, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupsPerDimension: 65535, maxStorageBuffersPerShaderStage: 12 },
};

/** A stage of `ms` (or untimed) with two kernels splitting its FLOPs 3:1 and its bytes 1:1. */
function stage(name: string, block: string, ms: number | null, detail: boolean): StageProfile {
  const spread = (x: number) => ({ median: x, p10: x * 0.9, p90: x * 1.25 });
  const kernel = (k: string, flops: number, part: number) => ({
    name: `${name}.${k}`, kernel: k, block, resolution: '8×8', flops, bytes: 1e6,
    ms: detail && ms !== null ? spread(ms * part) : null, share: null, gflops: null, gbps: null,
  });
  return {
    name, block, resolution: '8×8', flops: 4e6, bytes: 2e6,
    ms: ms === null ? null : spread(ms), share: null, gflops: ms === null ? null : 4e6 / ms / 1e6, gbps: ms === null ? null : 2e6 / ms / 1e6,
    kernels: [kernel('pointwise', 3e6, 0.75), kernel('dwconv', 1e6, 0.25)],
  };
}

function profile(o: { arch?: string; timer?: Profile['timer']; detail?: boolean; stages?: [string, string][] } = {}): Profile {
  const timed = (o.timer ?? 'timestamp-query') === 'timestamp-query';
  const names = o.stages ?? [['stem', 'stem'], ['stage1', 'fused'], ['stage2', 'mbconv'], ['head', 'head']];
  const stages = names.map(([n, b], i) => stage(n, b, timed ? i + 1 : null, !!o.detail));
  const total = timed ? stages.reduce((a, s) => a + s.ms!.median, 0) : 12.5;
  for (const s of stages) s.share = s.ms && s.ms.median / total;
  return {
    arch: o.arch ?? 'efficientnet_b0', batch: 2, res: 96, runs: 3, adapter, timer: o.timer ?? 'timestamp-query',
    schedule: { target: 'fallback', tuning: { source: 'tuning.json', entries: 7, warnings: [] }, background: 'off', selfTest: { enabled: false, checked: 0, ms: 0, failed: [], variants: [] } },
    timerResolutionNs: timed ? 1 : null, detail: !!o.detail, totalMs: total, unprofiledMs: total * 1.05, overheadPct: 2.5, stages,
  };
}

const meta = { baseArch: 'efficientnet_b0', fusedStages: null, host: 'node' as const, weights: 'random' };

describe('profile report JSON', () => {
  test('carries the run, the timer and per-stage numbers with ms as the median', () => {
    const r = toProfileReport(profile(), meta);
    expect(r).toMatchObject({
      format: 'effnet-profile', arch: 'efficientnet_b0', res: 96, batch: 2, runs: 3, host: 'node', weights: 'random',
      timer: 'timestamp-query', timerResolutionNs: 1, detail: false, totalMs: 10, overheadPct: 2.5, fusedStages: null,
    });
    expect(r.adapter.isFallback).toBe(true);
    expect(r.stages.map((s) => [s.name, s.block])).toEqual([['stem', 'stem'], ['stage1', 'Fused-MBConv'], ['stage2', 'MBConv'], ['head', 'head']]);
    expect(r.stages[2]).toMatchObject({ ms: 3, p10Ms: 2.7, p90Ms: 3.75, share: 0.3, flops: 4e6, bytes: 2e6 });
    expect(r.stages[2]!.gflops).toBeCloseTo(4 / 3, 10);
    // A JSON round trip is what --compare reads.
    expect(parseProfileReport(JSON.stringify(r), 'r.json')).toEqual(r);
  });

  test('parse errors name the file and the problem', () => {
    expect(() => parseProfileReport('{"stages": [', 'x.json')).toThrow(/^x\.json is not valid JSON/);
    expect(() => parseProfileReport('{"hello": 1}', 'x.json')).toThrow(/^x\.json is not an effnet profile report/);
    expect(() => parseProfileReport(JSON.stringify({ format: 'effnet-profile', stages: [] }), 'y.json')).toThrow(/^y\.json: profile report lacks arch, res, batch, totalMs, timer, adapter$/);
  });
});

describe('profile report Markdown', () => {
  test('a row per stage plus the total, with the run described above the table', () => {
    const md = profileMarkdown(toProfileReport(profile(), meta));
    expect(md).toContain('# effnet profile: efficientnet_b0 @ 96×96, batch 2');
    expect(md).toContain('random (timings do not depend on weight values)');
    expect(md).toContain('timestamps resolve 1 ns');
    expect(md).toContain('software fallback adapter');
    expect(md).toContain('+2.5% wall time');
    expect(md).toContain('shaped for SwiftShader (large register tiles); 7 launches tuned on this device (tuning.json)');
    const rows = md.split('\n').filter((l) => /^\| (stem|stage\d|head|total) /.test(l));
    expect(rows).toHaveLength(5);
    expect(rows[2]).toMatch(/^\| stage2 +\| MBConv +\| 8×8 +\| +3\.00 \| +2\.70–3\.75 \| +30\.0% \| +4\.00 \| +2\.00 \| +1\.33 \| +0\.67 \| +2\.0 \|$/);
    expect(rows[4]).toMatch(/^\| total .*\| +10\.00 \|/);
    expect(md).toContain('Per-kernel times need `--detail`');
  });

  test('submit timer: labelled coarse, and stage rows show dashes instead of numbers', () => {
    const md = profileMarkdown(toProfileReport(profile({ timer: 'submit' }), meta));
    expect(md).toContain('COARSE');
    expect(md).toContain('no per-stage or per-kernel times');
    const stem = md.split('\n').find((l) => l.startsWith('| stem '))!;
    const cells = stem.split('|').map((c) => c.trim());
    expect(cells.slice(4, 7)).toEqual(['—', '—', '—']);
    expect(cells.slice(9, 11)).toEqual(['—', '—']);
    expect(md).toMatch(/\| total \(submit\) .*\| +12\.50 \|/);
  });

  test('detail mode: kernel types sum their launches, and every launch gets a row', () => {
    const r = toProfileReport(profile({ detail: true }), meta);
    const types = kernelTypes(r);
    expect(types.map((t) => [t.kernel, t.launches])).toEqual([['pointwise', 4], ['dwconv', 4]]);
    expect(types[0]!.ms).toBeCloseTo(7.5, 10);
    expect(types[0]!.timeShare).toBeCloseTo(0.75, 10);
    expect(types[0]!.flopShare).toBeCloseTo(0.75, 10);
    expect(types[1]!.byteShare).toBeCloseTo(0.5, 10);
    const md = profileMarkdown(r);
    expect(md).toContain('## Kernels');
    expect(md.split('\n').filter((l) => /^\| \w+\.(pointwise|dwconv) /.test(l))).toHaveLength(8);
  });

  test('--fused-stages is named in the report', () => {
    const r = toProfileReport(profile({ arch: 'efficientnet_b0_fused3' }), { ...meta, fusedStages: 3 });
    expect(profileMarkdown(r)).toContain("efficientnet_b0_fused3 (efficientnet_b0 with Fused-MBConv in stages 1..3: the V2 paper's Table 3 ablation)");
  });
});

describe('comparison', () => {
  const a = toProfileReport(profile(), meta);
  const b = toProfileReport(profile({ arch: 'efficientnet_v2_s', stages: [['stem', 'stem'], ['stage1', 'fused'], ['stage1b', 'fused'], ['head', 'head']] }), { ...meta, baseArch: 'efficientnet_v2_s' });

  test('stages matched by name in network order, a stage only one report has in its place', () => {
    const c = compareReports([{ report: a, source: 'a.json' }, { report: b, source: 'b.json' }]);
    expect(c.entries.map((e) => e.key)).toEqual(['A', 'B']);
    expect(c.entries[1]!.label).toContain('efficientnet_v2_s · 96px · batch 2');
    expect(c.stages.map((s) => s.name)).toEqual(['stem', 'stage1', 'stage1b', 'stage2', 'head']);
    const row = (n: string) => c.stages.find((s) => s.name === n)!;
    expect(row('stage1b').ms).toEqual([null, 3]);
    expect(row('stage2').ms).toEqual([3, null]);
    expect(row('head').ratio).toEqual([1, 1]);
    expect(c.total.ms).toEqual([10, 10]);

    const md = compareMarkdown(c);
    expect(md).toContain('- **A**: efficientnet_b0 · 96px · batch 2');
    expect(md).toMatch(/\| stage +\| +A ms \| +B ms \| +B\/A \|/);
    expect(md).toMatch(/\| stage1b +\| +— \| +3\.00 \| +— \|/);
    expect(md).toMatch(/\| head +\| +4\.00 \| +4\.00 \| +1\.00× \|/);
  });

  test('a stage whose block differs between reports says so', () => {
    const fused = toProfileReport(profile({ stages: [['stem', 'stem'], ['stage1', 'fused'], ['stage2', 'fused'], ['head', 'head']] }), { ...meta, fusedStages: 2 });
    const md = compareMarkdown(compareReports([{ report: a, source: 'a.json' }, { report: fused, source: 'f.json' }]));
    expect(md).toContain('| stage2 (MBConv / Fused-MBConv) |');
    expect(md).toContain('efficientnet_b0 fused 1..2');
  });
});
