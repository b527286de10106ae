import { describe, expect, test } from 'vitest';
import { loadModel } from '../src/api.js';
import { acquireGpu } from '../src/gpu.js';
import { customArch, getArch } from '../src/model/tables.js';
import { profileModel, timestampQuantumNs } from '../src/profile.js';

describe('per-stage GPU profile (timestamp queries)', () => {
  test('B0: a timed pass per table stage, stage times add up to the unprofiled run', async () => {
    const model = await loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: 'random' });
    try {
      const p = await profileModel(model, { runs: 8 });
      console.log(JSON.stringify({ total: p.totalMs, unprofiled: p.unprofiledMs, overhead: p.overheadPct, stages: p.stages.map((s) => [s.name, s.block, s.resolution, s.ms!.median.toFixed(2), s.gflops!.toFixed(2)]) }));
      expect(p.timer).toBe('timestamp-query');
      // Dawn is started with timestamp quantisation off, so the raw ticks are not multiples of 65536 ns.
      expect(p.timerResolutionNs).toBeGreaterThan(0);
      expect(p.timerResolutionNs).toBeLessThan(65536);
      expect(p.adapter.features.timestampQuery).toBe(true);
      expect(p.stages.map((s) => s.name)).toEqual(['stem', ...[1, 2, 3, 4, 5, 6, 7].map((i) => `stage${i}`), 'head']);
      expect(p.stages[0]!.resolution).toBe('224×224');
      for (const s of p.stages) {
        expect(s.ms!.median).toBeGreaterThan(0);
        expect(s.ms!.p10).toBeLessThanOrEqual(s.ms!.p90);
        expect(s.flops).toBeGreaterThan(0);
      }
      expect(p.stages.reduce((a, s) => a + s.share!, 0)).toBeCloseTo(1, 6);
      // Stage FLOPs are the graph's, each op's from the op table's cost like the table's count: they are that
      // count plus the head's global pool (1280 × 7 × 7 adds), the one op the count leaves out.
      expect(p.stages.reduce((a, s) => a + s.flops, 0)).toBe(model.info.flops + 1280 * 7 * 7);
      // The GPU time of the passes must account for nearly all of an unprofiled inference.
      // (The unprofiled time is wall clock, upload and read-back included, so it is noisier than the GPU timestamps.)
      expect(Math.abs(p.totalMs - p.unprofiledMs) / p.unprofiledMs).toBeLessThanOrEqual(0.35);

      const d = await profileModel(model, { runs: 2, detail: true });
      const kernels = d.stages.flatMap((s) => s.kernels);
      expect(kernels.length).toBeGreaterThan(60);
      for (const k of kernels) expect(k.ms!.median).toBeGreaterThan(0);
      expect(kernels.reduce((a, k) => a + k.share!, 0)).toBeCloseTo(1, 6);
      expect(kernels.find((k) => k.name === 'features.0.stem')!.resolution).toBe('224×224');
    } finally {
      model.dispose();
    }
  });

  test('without timestamp-query only whole submits are timed: per-stage numbers are null, not estimates', async () => {
    const gpu = await acquireGpu({ optionalFeatures: [] });
    // A two-stage table: the fallback does not depend on the network, and a fresh device compiles every pipeline anew.
    const arch = customArch('efficientnet_b0', { name: 'b0_two_stages', stages: getArch('efficientnet_b0').stages.slice(0, 2), headC: 64 });
    const model = await loadModel({ arch, weights: 'random', device: gpu });
    try {
      const p = await profileModel(model, { res: 32, runs: 2 });
      expect(p.timer).toBe('submit');
      expect(p.timerResolutionNs).toBeNull();
      expect(p.totalMs).toBeGreaterThan(0);
      for (const s of p.stages) {
        expect([s.ms, s.share, s.gflops, s.gbps]).toEqual([null, null, null, null]);
        expect(s.flops).toBeGreaterThan(0);
      }
    } finally {
      model.dispose();
      gpu.destroy();
    }
  });

  test('timestamp quantum: the gcd of the raw deltas', () => {
    expect(timestampQuantumNs([0n, 1245184n, 1310720n, 5963776n])).toBe(65536);
    expect(timestampQuantumNs([0n, 300000n, 1200000n])).toBe(300000);
    expect(timestampQuantumNs([0n, 6389n, 6770n])).toBe(1);
    expect(timestampQuantumNs([0n, 0n])).toBeNull();
  });
});
