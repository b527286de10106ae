import { describe, expect, test } from 'vitest';
import { loadModel } from '../src/api.js';
import { customArch, getArch, withFusedStages, type ArchSpec } from '../src/model/tables.js';
import { randomParams } from '../src/weights/random.js';
import { MODEL_TOLERANCE } from '../src/tolerance.js';
import { errorStats } from '../src/verify.js';
import { referenceForward } from '../src/reference/forward.js';
import { randomF32 } from './support/tensor.js';

// The runtime must work for tables, resolutions and batch sizes it was never tuned on: each case runs the
// GPU engine and the independent float64 reference forward on the same random weights and input.
const CASES: { name: string; spec: ArchSpec; res: number; batch: number; layout: 'NCHW' | 'NHWC' }[] = [
  { name: 'B1 at 199×199 (odd size, deeper stages)', spec: getArch('efficientnet_b1'), res: 199, batch: 1, layout: 'NCHW' },
  { name: 'B0 with Fused-MBConv stages 1–3 at 160, batch 3', spec: withFusedStages('efficientnet_b0', 3), res: 160, batch: 3, layout: 'NHWC' },
  { name: 'B0 with TF SAME padding at 224 (even size: asymmetric at stride 2)', spec: customArch('efficientnet_b0', { padding: 'same' }), res: 224, batch: 1, layout: 'NCHW' },
  {
    name: 'a custom V2-style table: fused stage with SE, k5 MBConv, 10 classes',
    spec: customArch('efficientnet_v2_s', {
      stemC: 16, headC: 256, numClasses: 10,
      stages: [
        { block: 'fused', expand: 1, kernel: 3, stride: 1, outC: 16, repeats: 1, se: 0 },
        { block: 'fused', expand: 4, kernel: 3, stride: 2, outC: 24, repeats: 2, se: 0.25 },
        { block: 'mbconv', expand: 4, kernel: 5, stride: 2, outC: 40, repeats: 2, se: 0.25 },
        { block: 'mbconv', expand: 6, kernel: 3, stride: 2, outC: 56, repeats: 1, se: 0.25 },
      ],
    }),
    res: 97, batch: 2, layout: 'NCHW',
  },
];

describe('runtime generality: GPU vs float64 reference on tables and sizes it was not tuned on', () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const params = randomParams(c.spec, 7);
      const shape = (c.layout === 'NCHW' ? [c.batch, 3, c.res, c.res] : [c.batch, c.res, c.res, 3]) as [number, number, number, number];
      const data = randomF32(c.batch * 3 * c.res * c.res, 5);
      const model = await loadModel({ backend: 'webgpu', arch: c.spec, weights: params });
      try {
        const got = await model.run({ data, shape, layout: c.layout });
        const want = referenceForward(params, c.spec, { data, shape, layout: c.layout }).logits!;
        expect(want.shape).toEqual([c.batch, c.spec.numClasses]);
        const stats = errorStats(got, want.data);
        expect(stats.relL2, JSON.stringify(stats)).toBeLessThanOrEqual(MODEL_TOLERANCE.relL2);
      } finally {
        model.dispose();
      }
    });
  }
});
