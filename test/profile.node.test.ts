import { describe, expect, test } from 'vitest';
import { loadModel } from '../src/api.js';
import { profileModel } from '../src/profile.js';

describe('per-stage GPU profile (timestamp queries)', () => {
  test('B0: a timed pass per table stage, stage times add up to the unprofiled run', async () => {
    const model = await loadModel({ arch: 'efficientnet_b0', weights: 'random' });
    try {
      const p = await profileModel(model, { runs: 8 });
      console.log(JSON.stringify({ total: p.totalMs, unprofiled: p.unprofiledMs, overhead: p.overheadPct, stages: p.stages.map((s) => [s.name, s.block, s.resolution, s.ms.median.toFixed(2), s.gflops.toFixed(2)]) }));
      expect(p.timer).toBe('timestamp-query');
      expect(p.stages.map((s) => s.name)).toEqual(['stem', ...[1, 2, 3, 4, 5, 6, 7].map((i) => `stage${i}`), 'head']);
      expect(p.stages[0]!.resolution).toBe('224×224');
      for (const s of p.stages) {
        expect(s.ms.median).toBeGreaterThan(0);
        expect(s.ms.p10).toBeLessThanOrEqual(s.ms.p90);
        expect(s.flops).toBeGreaterThan(0);
      }
      expect(p.stages.reduce((a, s) => a + s.share, 0)).toBeCloseTo(1, 6);
      // Stage FLOPs are the graph's own estimates; they must agree with the table's count (pooling aside).
      expect(Math.abs(p.stages.reduce((a, s) => a + s.flops, 0) / model.info.flops - 1)).toBeLessThan(0.01);
      // The GPU time of the passes must account for nearly all of an unprofiled inference.
      // (The unprofiled time is wall clock, upload and read-back included, so it is noisier than the GPU timestamps.)
      expect(Math.abs(p.totalMs - p.unprofiledMs) / p.unprofiledMs).toBeLessThanOrEqual(0.35);

      const d = await profileModel(model, { runs: 2, detail: true });
      const kernels = d.stages.flatMap((s) => s.kernels);
      expect(kernels.length).toBeGreaterThan(60);
      for (const k of kernels) expect(k.ms!.median).toBeGreaterThan(0);
    } finally {
      model.dispose();
    }
  });
});

