import { describe, expect, it, vi } from 'vitest';
import { isEffnetError } from '../src/errors';
import { modelInfo } from '../src/model/info';
import { convGeometry, distinctLayerShapes, layerOps, planLayers, type LayerShape } from '../src/model/layers';
import { ARCHS, customArch, getArch, makeDivisible, withFusedStages, type ArchSpec, type StageRow } from '../src/model/tables';
import { buildGraph, packModel } from '../src/runtime/builder';
import { randomParams } from '../src/weights/random';
import { infoCommand } from '../tools/commands/info';

// torchvision `sum(p.numel() for p in m.parameters())`; B0 and V2-S are also pinned by /work/shared/fixtures/*.json.
const TORCHVISION_PARAMS: Record<string, number> = {
  efficientnet_b0: 5288548,
  efficientnet_b1: 7794184,
  efficientnet_b2: 9109994,
  efficientnet_b3: 12233232,
  efficientnet_b4: 19341616,
  efficientnet_b5: 30389784,
  efficientnet_b6: 43040704,
  efficientnet_b7: 66347960,
  efficientnet_v2_s: 21458488,
  efficientnet_v2_m: 54139356,
  efficientnet_v2_l: 118515272,
};

const b0 = getArch('efficientnet_b0');
const v2s = getArch('efficientnet_v2_s');
const column = <K extends keyof StageRow>(spec: ArchSpec, k: K) => spec.stages.map((r) => r[k]);

function expectSpecError(f: () => unknown, match: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(isEffnetError(e, 'MODEL_SPEC')).toBe(true);
    expect((e as Error).message).toMatch(match);
    return;
  }
  throw new Error(`expected a MODEL_SPEC error matching ${match}`);
}

/** Spatial size at the output of every torchvision features.i. */
function featureSizes(spec: ArchSpec, res: number): number[] {
  const plan = planLayers(spec, res);
  const stageOut = spec.stages.map((_, i) => plan.blocks.filter((b) => b.stage === i + 1).at(-1)!.outH);
  return [plan.stem.outH, ...stageOut, plan.head.H];
}

describe('zoo tables', () => {
  it('has the twelve torchvision/paper variants, PaddleClas B0_small and the standalone V2 definition\'s four', () => {
    expect(Object.keys(ARCHS)).toEqual([
      ...Object.keys(TORCHVISION_PARAMS), 'efficientnet_v2_xl', 'efficientnet_b0_small', 'effnetv2_s', 'effnetv2_m', 'effnetv2_l', 'effnetv2_xl',
    ]);
  });

  it.each(Object.entries(TORCHVISION_PARAMS))('%s has torchvision parameter count %i', (name, params) => {
    expect(modelInfo(getArch(name)).params).toBe(params);
  });

  it('B0 matches the torchvision base table', () => {
    expect(b0.stemC).toBe(32);
    expect(b0.headC).toBe(1280);
    expect(column(b0, 'expand')).toEqual([1, 6, 6, 6, 6, 6, 6]);
    expect(column(b0, 'kernel')).toEqual([3, 3, 5, 3, 5, 5, 3]);
    expect(column(b0, 'stride')).toEqual([1, 2, 2, 2, 1, 2, 1]);
    expect(column(b0, 'outC')).toEqual([16, 24, 40, 80, 112, 192, 320]);
    expect(column(b0, 'repeats')).toEqual([1, 2, 2, 3, 3, 4, 1]);
    expect(column(b0, 'se')).toEqual([0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25]);
    expect([b0.resolution, b0.bnEps, b0.padding]).toEqual([224, 1e-5, 'symmetric']);
    expect(planLayers(b0).blocks.map((b) => b.inC)).toEqual([32, 16, 24, 24, 40, 40, 80, 80, 80, 112, 112, 112, 192, 192, 192, 192]);
  });

  it('B7 is B0 compound-scaled', () => {
    const b7 = getArch('efficientnet_b7');
    expect(b7.stemC).toBe(64);
    expect(b7.headC).toBe(2560);
    expect(column(b7, 'outC')).toEqual([32, 48, 80, 160, 224, 384, 640]);
    expect(column(b7, 'repeats')).toEqual([4, 7, 7, 10, 10, 13, 4]);
    expect([b7.resolution, b7.bnEps]).toEqual([600, 1e-3]);
  });

  it('rounds channels like torchvision _make_divisible', () => {
    expect(makeDivisible(44)).toBe(48); // B2 stage 3: 1.1 × 40, halves round up
    expect(makeDivisible(123.2)).toBe(120); // B2 stage 5: 1.1 × 112
    expect(makeDivisible(4)).toBe(8); // floor of 8
    expect(makeDivisible(10)).toBe(16); // 8 would lose more than 10%
    expect(column(getArch('efficientnet_b2'), 'outC')).toEqual([16, 24, 48, 88, 120, 208, 352]);
  });

  it('V2 stages: fused without SE, MBConv with SE, head 1280', () => {
    for (const name of ['efficientnet_v2_s', 'efficientnet_v2_m', 'efficientnet_v2_l', 'efficientnet_v2_xl']) {
      const spec = getArch(name);
      expect(spec.headC).toBe(1280);
      expect(spec.bnEps).toBe(1e-3);
      for (const r of spec.stages) expect(r.se).toBe(r.block === 'fused' ? 0 : 0.25);
    }
    expect(column(v2s, 'block')).toEqual(['fused', 'fused', 'fused', 'mbconv', 'mbconv', 'mbconv']);
    expect(v2s.stemC).toBe(24);
  });

  it('unknown names list the known ones', () => {
    expectSpecError(() => getArch('efficientnet_b9'), /unknown architecture 'efficientnet_b9'.*efficientnet_b0.*efficientnet_v2_xl/);
  });
});

describe('planLayers', () => {
  it('V2-S at 384 has torchvision feature sizes', () => {
    expect(featureSizes(v2s, 384)).toEqual([192, 192, 96, 48, 24, 24, 12, 12]);
    const plan = planLayers(v2s, 384);
    expect(plan.head).toEqual({ inC: 256, outC: 1280, H: 12, W: 12 });
    expect(plan.classifier).toEqual({ inC: 1280, outC: 1000 });
  });

  it('names, strides and residuals follow torchvision', () => {
    const blocks = planLayers(b0).blocks;
    expect(blocks.map((b) => b.name).slice(0, 4)).toEqual(['features.1.0', 'features.2.0', 'features.2.1', 'features.3.0']);
    const f21 = blocks.find((b) => b.name === 'features.2.1')!;
    expect([f21.stride, f21.inC, f21.outC, f21.residual]).toEqual([1, 24, 24, true]);
    const f20 = blocks.find((b) => b.name === 'features.2.0')!;
    expect([f20.stride, f20.residual, f20.inH, f20.outH]).toEqual([2, false, 112, 56]);
    // features.1.0 is 32→16 at stride 1: no skip.
    expect(blocks[0]!.residual).toBe(false);
  });

  it('SE squeeze width is a quarter of the block input', () => {
    const f20 = planLayers(b0).blocks.find((b) => b.name === 'features.2.0')!;
    expect([f20.inC, f20.expandC, f20.seC]).toEqual([16, 96, 4]);
    const f10 = planLayers(b0).blocks[0]!;
    expect([f10.inC, f10.expandC, f10.seC]).toEqual([32, 32, 8]);
    const v = planLayers(v2s).blocks;
    const f40 = v.find((b) => b.name === 'features.4.0')!;
    expect([f40.block, f40.inC, f40.expandC, f40.seC]).toEqual(['mbconv', 64, 256, 16]);
    expect(v.filter((b) => b.block === 'fused').every((b) => b.seC === 0)).toBe(true);
  });

  it("'same' padding gives ceil(in/stride) with the odd pad pixel at the end", () => {
    expect(convGeometry(224, 3, 2, 'same')).toEqual({ out: 112, padBefore: 0, padAfter: 1 });
    expect(convGeometry(224, 3, 2, 'symmetric')).toEqual({ out: 112, padBefore: 1, padAfter: 1 });
    expect(convGeometry(225, 3, 2, 'same')).toEqual({ out: 113, padBefore: 1, padAfter: 1 });
    expect(convGeometry(113, 5, 2, 'same')).toEqual({ out: 57, padBefore: 2, padAfter: 2 });
    expect(convGeometry(56, 5, 2, 'same')).toEqual({ out: 28, padBefore: 1, padAfter: 2 });
    expect(convGeometry(15, 5, 1, 'same')).toEqual({ out: 15, padBefore: 2, padAfter: 2 });
    expect(convGeometry(1, 5, 2, 'same')).toEqual({ out: 1, padBefore: 2, padAfter: 2 });

    const tf = customArch('efficientnet_b0', { name: 'tfjs_b0', padding: 'same' });
    expect(featureSizes(tf, 225)).toEqual([113, 113, 57, 29, 15, 15, 8, 8, 8]);
    for (const res of [7, 225, 227, 301]) {
      for (const b of planLayers(tf, res).blocks) expect(b.outH).toBe(Math.ceil(b.inH / b.stride));
    }
  });

  it('rejects a non-integer resolution', () => {
    expectSpecError(() => planLayers(b0, 0), /resolution/);
    expectSpecError(() => planLayers(b0, 223.5), /resolution/);
  });
});

describe('custom tables', () => {
  const row: StageRow = { block: 'mbconv', expand: 6, kernel: 3, stride: 2, outC: 24, repeats: 2, se: 0.25 };
  const withRow = (r: Partial<StageRow>) => () => customArch(b0, { stages: [{ ...row, ...r }] });

  it('accepts a valid user table', () => {
    const tiny = customArch(b0, { name: 'tiny', stages: [row, { ...row, block: 'fused', outC: 32, stride: 1, se: 0 }], numClasses: 10 });
    expect(tiny.name).toBe('tiny');
    expect(planLayers(tiny).blocks.map((b) => b.name)).toEqual(['features.1.0', 'features.1.1', 'features.2.0', 'features.2.1']);
    expect(modelInfo(tiny).stages.at(-1)!.name).toBe('features.3');
    // Only the classifier changes: Linear(1280, 10) instead of Linear(1280, 1000).
    expect(modelInfo(customArch(b0, { numClasses: 10 })).params).toBe(5288548 - 990 * 1281);
    // A fused block may carry SE when it has an expanded tensor to gate.
    expect(() => withRow({ block: 'fused', expand: 4, se: 0.25 })()).not.toThrow();
  });

  it('names the offending field', () => {
    expectSpecError(withRow({ kernel: 4 }), /stage 1: kernel must be 3, 5 or 7/);
    expectSpecError(withRow({ stride: 3 }), /stage 1: stride must be 1 or 2/);
    expectSpecError(withRow({ block: 'conv' as StageRow['block'] }), /stage 1: block must be/);
    expectSpecError(withRow({ expand: 0 }), /stage 1: expand must be a positive integer/);
    expectSpecError(withRow({ repeats: 1.5 }), /stage 1: repeats must be a positive integer/);
    expectSpecError(withRow({ outC: -8 }), /stage 1: outC must be a positive integer/);
    expectSpecError(withRow({ se: 2 }), /stage 1: se must be in \[0, 1\]/);
    expectSpecError(withRow({ block: 'fused', expand: 1, se: 0.25 }), /fused block with expand 1 cannot have SE/);
    expectSpecError(() => customArch(b0, { stages: [] }), /stages must be a non-empty array/);
    expectSpecError(() => customArch(b0, { headC: 0 }), /headC must be a positive integer/);
    expectSpecError(() => customArch(b0, { bnEps: 0 }), /bnEps must be > 0/);
    expectSpecError(() => customArch(b0, { padding: 'valid' as ArchSpec['padding'] }), /padding must be/);
    expectSpecError(() => customArch('efficientnet_x', {}), /unknown architecture/);
  });

  it('withFusedStages turns the first stages into Fused-MBConv', () => {
    const f = withFusedStages('efficientnet_b0', 3);
    expect(f.name).toBe('efficientnet_b0_fused3');
    expect(column(f, 'block')).toEqual(['fused', 'fused', 'fused', 'mbconv', 'mbconv', 'mbconv', 'mbconv']);
    expect(column(f, 'se')).toEqual([0, 0, 0, 0.25, 0.25, 0.25, 0.25]);
    for (const k of ['expand', 'kernel', 'stride', 'outC', 'repeats'] as const) expect(column(f, k)).toEqual(column(b0, k));
    expect(featureSizes(f, 224)).toEqual(featureSizes(b0, 224));

    const stages = modelInfo(f).stages;
    // features.1: one 3×3 conv 32→16 + BN.
    expect(stages[1]!.params).toBe(32 * 16 * 9 + 2 * 16);
    // features.2.0: 3×3 conv 16→96 + BN, 1×1 96→24 + BN; features.2.1: 3×3 24→144 + BN, 1×1 144→24 + BN.
    expect(stages[2]!.params).toBe(16 * 96 * 9 + 192 + 96 * 24 + 48 + 24 * 144 * 9 + 288 + 144 * 24 + 48);
    expect(layerOps(f).filter((o) => o.module === 'features.1.0').map((o) => o.op.kind)).toEqual(['fused']);

    expect(withFusedStages(b0, 0).stages).toEqual(b0.stages);
    expectSpecError(() => withFusedStages(b0, 8), /count must be an integer in 0\.\.7/);
  });
});

describe('distinctLayerShapes', () => {
  const find = (shapes: LayerShape[], want: Record<string, unknown>) =>
    shapes.some((s) => Object.entries(want).every(([k, v]) => (s as unknown as Record<string, unknown>)[k] === v));

  it.each([
    ['efficientnet_b0', 224],
    ['efficientnet_v2_s', 384],
  ])('%s at %i covers every block once per shape', (name, res) => {
    const spec = getArch(name);
    const shapes = distinctLayerShapes(spec, res);
    const keys = shapes.map((s) => s.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(shapes.length).toBeLessThan(layerOps(spec, res).length);
    for (const kind of ['stem', 'head', 'classifier']) expect(shapes.filter((s) => s.kind === kind)).toHaveLength(1);

    const plan = planLayers(spec, res);
    for (const b of plan.blocks) {
      const conv = { H: b.inH, W: b.inW, k: b.kernel, s: b.stride, padding: spec.padding };
      const project = { kind: 'pwconv', inC: b.expandC, outC: b.outC, H: b.outH, act: 'none', residual: b.residual, seScaled: b.seC > 0 };
      const expanded = b.expandC !== b.inC;
      if (b.block === 'mbconv') {
        if (expanded) expect(find(shapes, { kind: 'pwconv', inC: b.inC, outC: b.expandC, H: b.inH, act: 'silu' })).toBe(true);
        expect(find(shapes, { kind: 'dwconv', C: b.expandC, ...conv })).toBe(true);
        expect(find(shapes, project)).toBe(true);
      } else if (expanded) {
        expect(find(shapes, { kind: 'fused', inC: b.inC, outC: b.expandC, residual: false, ...conv })).toBe(true);
        expect(find(shapes, project)).toBe(true);
      } else {
        expect(find(shapes, { kind: 'fused', inC: b.inC, outC: b.outC, residual: b.residual, ...conv })).toBe(true);
      }
      if (b.seC > 0) expect(find(shapes, { kind: 'se', C: b.expandC, seC: b.seC, H: b.outH })).toBe(true);
    }
  });

  it('dedupes repeated blocks', () => {
    // B0: stem, features.1.0 (dw, se, project), 15 blocks × (expand, dw, se, project), head, classifier.
    expect(layerOps(b0).length).toBe(1 + 3 + 15 * 4 + 2);
    // First block + one repeat per stage (1 + 3 + 5 × 8 + 4 + 2 = 50), minus 7 ops a stage's first block shares
    // with the previous stage's repeats (the expand pw of stages 3–7, the SE of stages 5 and 7).
    expect(distinctLayerShapes(b0).length).toBe(43);
    // V2-S: stem, 1 + 4 + 4 + 8 + 8 + 7 (stage 6's expand is stage 5's), head, classifier.
    expect(distinctLayerShapes(v2s).length).toBe(35);
  });

  it('padding mode is part of the key', () => {
    const tf = customArch(b0, { padding: 'same' });
    const sym = new Set(distinctLayerShapes(b0).map((s) => s.key));
    expect(distinctLayerShapes(tf).filter((s) => sym.has(s.key)).every((s) => s.kind !== 'dwconv' && s.kind !== 'stem')).toBe(true);
  });
});

describe('modelInfo', () => {
  it.each(Object.keys(ARCHS))('%s stage params and FLOPs add up to the totals', (name) => {
    const info = modelInfo(getArch(name));
    expect(info.stages.reduce((a, s) => a + s.params, 0)).toBe(info.params);
    expect(info.stages.reduce((a, s) => a + s.flops, 0)).toBe(info.flops);
    expect(info.stages).toHaveLength(getArch(name).stages.length + 2);
  });

  it('B0 at 224 is about 0.39 G multiply-adds', () => {
    const info = modelInfo(b0);
    expect(info.resolution).toBe(224);
    expect(info.flops / 2).toBeGreaterThan(0.38e9);
    expect(info.flops / 2).toBeLessThan(0.4e9);
    expect(info.stages[0]).toMatchObject({ name: 'features.0', block: 'stem', inC: 3, outC: 32, params: 3 * 32 * 9 + 64 });
    expect(info.stages.at(-1)).toMatchObject({ name: 'features.8', block: 'head', inC: 320, outC: 1280 });
    // FLOPs scale with pixels; params do not.
    expect(modelInfo(b0, 448).params).toBe(info.params);
    expect(modelInfo(b0, 448).flops).toBeGreaterThan(3.9 * info.flops);
  });

  it('reports block outputs and the peak tensor', () => {
    const { outputs, peak } = modelInfo(b0).activations;
    expect(outputs).toHaveLength(1 + 16 + 1);
    expect(outputs[0]).toEqual({ name: 'features.0', elements: 32 * 112 * 112 });
    // The peak is features.2.0's 6× expansion at 112×112, which no block output reaches.
    expect(peak).toEqual({ name: 'features.2.0', elements: 96 * 112 * 112 });
    expect(outputs.every((o) => o.elements <= peak.elements)).toBe(true);
  });
});

describe('FLOPs: one count for the table and the graph', () => {
  const graph = (spec: ArchSpec, res: number, batch: number) =>
    buildGraph(spec, packModel(spec, randomParams(spec)), { batch, height: res, width: res, layout: 'nchw', keepStages: false, softmax: false, target: { isFallback: true } });
  const sum = (ops: { flops: number }[]) => ops.reduce((a, o) => a + o.flops, 0);
  const fusedSe = customArch(v2s, {
    stages: [
      { block: 'fused', expand: 4, kernel: 3, stride: 2, outC: 24, repeats: 2, se: 0.25 },
      { block: 'mbconv', expand: 6, kernel: 5, stride: 2, outC: 40, repeats: 1, se: 0.25 },
    ],
  });

  it.each([
    ['B0 at 224', b0, 224, 1],
    ['V2-S at 160', v2s, 160, 2],
    ['B0 fused stages at 96', withFusedStages(b0, 3), 96, 3],
    ['fused blocks with SE at 64', fusedSe, 64, 2],
  ] as const)('%s: the graph has the table\'s FLOPs per image plus its pooling adds', (_, spec, res, batch) => {
    const { ops, tensors } = graph(spec, res, batch);
    expect(sum(ops.filter((o) => o.kernel !== 'pool'))).toBe(batch * modelInfo(spec, res).flops);
    // Each pool (the head's, and the squeeze of an SE no depthwise conv can fuse) adds every input element once.
    const pools = ops.filter((o) => o.kernel === 'pool');
    expect(pools.length).toBe(1 + (spec === fusedSe ? 2 : 0));
    for (const p of pools) {
      const x = tensors[(p.bind.x as { tensor: number }).tensor]!.shape;
      expect(p.flops).toBe(batch * x.h * x.w * x.c);
    }
  });

  it('B0 features.2.0 by hand: expand 16→96 at 112², depthwise 3×3 stride 2, SE 96→4→96, project 96→24 at 56²', () => {
    const block = graph(b0, 224, 2).ops.filter((o) => o.name.startsWith('features.2.0.'));
    expect(block.map((o) => o.flops)).toEqual([
      2 * 2 * 112 * 112 * 16 * 96,
      2 * 2 * 56 * 56 * 96 * 9,
      2 * 4 * 96 * 4,
      2 * 2 * 56 * 56 * 96 * 24,
    ]);
  });
});

describe('effnet info', () => {
  async function run(args: string[]): Promise<string> {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await infoCommand.run(args)).toBe(0);
      return log.mock.calls.map((c) => c.join(' ')).join('\n');
    } finally {
      log.mockRestore();
    }
  }

  it('--json prints modelInfo exactly', async () => {
    expect(JSON.parse(await run(['efficientnet_v2_s', '--res', '320', '--json']))).toEqual(modelInfo(v2s, 320));
  });

  it('prints a table with totals', async () => {
    const out = await run(['efficientnet_b0']);
    expect(out).toMatch(/features\.8\s+head/);
    expect(out).toMatch(/total.*5,288,548/);
  });

  it('rejects unknown archs and bad flags', async () => {
    await expect(infoCommand.run(['efficientnet_b9'])).rejects.toThrow(/unknown architecture/);
    await expect(infoCommand.run(['efficientnet_b0', '--res', 'x'])).rejects.toThrow(/--res/);
    await expect(infoCommand.run([])).rejects.toThrow(/usage/);
  });
});
