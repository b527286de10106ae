import { describe, expect, test } from 'vitest';
import { loadModel } from '../src/api.js';
import { defineBlock, type BlockDef } from '../src/model/blocks.js';
import { modelInfo } from '../src/model/info.js';
import { layerOps } from '../src/model/layers.js';
import { customArch } from '../src/model/tables.js';
import { buildGraph, packModel } from '../src/runtime/builder.js';
import { MODEL_TOLERANCE } from '../src/tolerance.js';
import { errorStats } from '../src/verify.js';
import { checkModelParams } from '../src/weights/check.js';
import { randomParams } from '../src/weights/random.js';
import { TORCHVISION_NAMING } from '../src/weights/torchvision.js';
import { paramTensors } from '../src/model/ops.js';
import { referenceForward, referenceLayers, type ReferenceBlock } from '../src/reference/forward.js';
import { randomF32 } from './support/tensor.js';

// A block kind added from outside the engine: the Fused-MBConv of the standalone EfficientNetV2 PyTorch code,
// which keeps its 1×1 projection at expand 1 (torchvision's drops it). One block-table row, no new op.
const FUSED_PROJECT: BlockDef = {
  steps: (b) => [
    { kind: 'fused', name: 'expand', outC: b.expandC, k: b.kernel, s: b.stride, act: 'silu' },
    b.seC > 0 && { kind: 'se', name: 'se', seC: b.seC },
    { kind: 'pwconv', name: 'project', outC: b.outC, act: 'none' },
  ],
};
defineBlock('fused_keep_project', FUSED_PROJECT);

// The same block written independently from the reference forward's layer functions.
const fusedProjectRef: ReferenceBlock = (x, p, { c, E, outC, k, stride, seC, padding, at }) => {
  const { conv, squeezeExcite, expectShape } = referenceLayers;
  let h = conv(x, expectShape(p.expand, [E, c, k, k], `${at}.expand`), stride, padding, true);
  if (seC > 0) h = squeezeExcite(h, expectShape(p.se?.reduce, [seC, E, 1, 1], 'se.reduce'), expectShape(p.se?.expand, [E, seC, 1, 1], 'se.expand'));
  return conv(h, expectShape(p.project, [outC, E, 1, 1], `${at}.project`), 1, padding, false);
};

const spec = customArch('efficientnet_b0', {
  name: 'fused_keep_project_net',
  stemC: 16,
  headC: 64,
  numClasses: 10,
  stages: [
    { block: 'fused_keep_project', expand: 1, kernel: 3, stride: 1, outC: 16, repeats: 2, se: 0 },
    { block: 'fused_keep_project', expand: 2, kernel: 3, stride: 2, outC: 24, repeats: 1, se: 0.25 },
    { block: 'mbconv', expand: 4, kernel: 3, stride: 2, outC: 32, repeats: 1, se: 0.25 },
  ],
});
const RES = 32;

describe('a block kind added as one block-table row', () => {
  test('plans: a k×k conv and a 1×1 projection even at expand 1, wired like every block', () => {
    const ops = layerOps(spec, RES).filter((o) => o.module === 'features.1.1');
    expect(ops.map((o) => [o.name, o.op.kind, o.param])).toEqual([
      ['features.1.1.expand', 'fused', 'features.1.1.expand'],
      ['features.1.1.project', 'pwconv', 'features.1.1.project'],
    ]);
    // Stride 1, 16 → 16: the projection adds the block input, the output of features.1.0.
    const input = layerOps(spec, RES).find((o) => o.tensor === 'features.1.0')!;
    expect(ops[1]!.res).toBe(input.index);
    expect(ops[1]!.op).toMatchObject({ inC: 16, outC: 16, H: 16, W: 16, residual: true, seScaled: false });
    const se = layerOps(spec, RES).filter((o) => o.module === 'features.2.0');
    expect(se.map((o) => o.op.kind)).toEqual(['fused', 'se', 'pwconv']);
    expect(se[2]!.gate).toBe(se[1]!.index);
    expect(() => customArch(spec, { stages: [{ ...spec.stages[0]!, block: 'fused_projection' }] })).toThrow(/block must be one of .*'fused_keep_project'/);
  });

  test('counts parameters and FLOPs by hand', () => {
    const info = modelInfo(spec, RES);
    // features.1 (16×16 maps, two blocks): 3×3 conv 16→16 + BN, 1×1 16→16 + BN.
    expect(info.stages[1]!.params).toBe(2 * (16 * 16 * 9 + 32 + 16 * 16 + 32));
    expect(info.stages[1]!.flops).toBe(2 * 2 * 16 * 16 * (16 * 16 * 9 + 16 * 16));
    // features.2.0: 3×3 stride-2 conv 16→32 + BN (8×8 out), SE 32→4→32 with biases, 1×1 32→24 + BN.
    expect(info.stages[2]!.params).toBe(16 * 32 * 9 + 64 + (2 * 32 * 4 + 4 + 32) + 32 * 24 + 48);
    expect(info.stages[2]!.flops).toBe(2 * (8 * 8 * 16 * 32 * 9 + 2 * 32 * 4 + 8 * 8 * 32 * 24));
  });

  test('random weights, the weight check and torchvision names follow the op list', () => {
    const params = randomParams(spec, 3);
    checkModelParams(params, spec);
    expect(params.blocks[0]!.expand!.shape).toEqual([16, 16, 3, 3]);
    expect(params.blocks[0]!.project.shape).toEqual([16, 16, 1, 1]);
    expect(params.blocks[2]!.se!.reduce.shape).toEqual([4, 32, 1, 1]);
    const names = paramTensors(layerOps(spec)).filter((t) => t.op.module === 'features.2.0').map((t) => TORCHVISION_NAMING.names(t, []));
    expect(names).toEqual([
      { weight: 'features.2.0.block.0.0.weight', bn: 'features.2.0.block.0.1' },
      'features.2.0.block.1.fc1',
      'features.2.0.block.1.fc2',
      { weight: 'features.2.0.block.2.0.weight', bn: 'features.2.0.block.2.1' },
    ]);
  });

  test('builds: the graph lowers it through the existing kernels, its FLOPs the table\'s', () => {
    const built = buildGraph(spec, packModel(spec, randomParams(spec, 3)), {
      batch: 2, height: RES, width: RES, layout: 'nchw', keepStages: false, softmax: false, target: { isFallback: true },
    });
    const block = built.ops.filter((o) => o.name.startsWith('features.2.0.'));
    expect(block.map((o) => [o.name, o.kernel])).toEqual([
      ['features.2.0.expand', 'fused_conv'],
      ['features.2.0.se.squeeze', 'pool'],
      ['features.2.0.se', 'se_excite'],
      ['features.2.0.project', 'pointwise'],
    ]);
    expect(block[3]!.overrides).toMatchObject({ SE_SCALE: 1, HAS_RES: 0 });
    // Pooling is adds only and outside the table's count; everything else is the table's FLOPs per image.
    const convFlops = built.ops.filter((o) => o.kernel !== 'pool').reduce((a, o) => a + o.flops, 0);
    expect(convFlops).toBe(2 * modelInfo(spec, RES).flops);
  });

  test('runs on the GPU and matches the float64 reference', async () => {
    const params = randomParams(spec, 7);
    const batch = 2;
    const data = randomF32(batch * 3 * RES * RES, 5);
    const model = await loadModel({ backend: 'webgpu', arch: spec, weights: params });
    try {
      const got = await model.run({ data, shape: [batch, 3, RES, RES], layout: 'NCHW' });
      const want = referenceForward(params, spec, { data, shape: [batch, 3, RES, RES], layout: 'NCHW' }, { blocks: { fused_keep_project: fusedProjectRef } }).logits!;
      const stats = errorStats(got, want.data);
      expect(stats.relL2, JSON.stringify(stats)).toBeLessThanOrEqual(MODEL_TOLERANCE.relL2);
    } finally {
      model.dispose();
    }
  });
});
