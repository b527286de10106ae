/**
 * Third-party EfficientNet model code as data: the standalone EfficientNetV2 definition's zoo family (its own
 * block kinds, head and SE rules, width multiplier), EfficientNet-PyTorch's naming of the V1 tables, PaddleClas
 * B0_small, and inferring any of them from a state dict's keys and shapes. The seed fixtures
 * (../shared/fixtures/seeds, PyTorch 1.13, F16 .pth) pin parameter counts, key sets and logits (float64 CPU
 * reference forward here; the GPU runs are in thirdparty.node.test.ts).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { isEffnetError } from '../src/errors';
import { modelInfo } from '../src/model/info';
import { layerOps } from '../src/model/layers';
import { getArch, scaledArch, zooVariants, type ArchSpec } from '../src/model/tables';
import type { SafetensorsFile, TensorInfo } from '../src/safetensors';
import { parseSafetensors } from '../src/safetensors';
import { MODEL_TOLERANCE } from '../src/tolerance';
import { errorStats } from '../src/verify';
import { checkTensorSet, type ExpectedTensor } from '../src/weights/check';
import { inferArch } from '../src/weights/infer';
import { inferWeightsArch, resolveWeights } from '../src/weights/load';
import { parsePytorchCheckpoint } from '../src/weights/pytorch';
import { DLI14_NAMING, EFFICIENTNET_PYTORCH_NAMING, EFFICIENTNET_PYTORCH_OVERRIDES } from '../src/weights/thirdparty';
import { TIMM_NAMING } from '../src/weights/timm';
import { expectedStateDict, TORCHVISION_NAMING, type StateDictNaming } from '../src/weights/torchvision';
import { infoCommand } from '../tools/commands/info';
import { referenceForward, referenceLayers, type ReferenceBlock } from '../src/reference/forward';

const seeds = fileURLToPath(new URL('../../shared/fixtures/seeds/', import.meta.url));
const FIXTURES = {
  lukemelas_b0: { spec: { ...getArch('efficientnet_b0'), ...EFFICIENTNET_PYTORCH_OVERRIDES }, naming: EFFICIENTNET_PYTORCH_NAMING },
  dli14_effnetv2_s_w050: { spec: scaledArch('effnetv2_s', { width: 0.5 }), naming: DLI14_NAMING },
};
type FixtureName = keyof typeof FIXTURES;
const checkpoint = (name: FixtureName) => parsePytorchCheckpoint(readFileSync(`${seeds}${name}.pth`), { source: `${name}.pth` });
const meta = (name: FixtureName) => JSON.parse(readFileSync(`${seeds}${name}.json`, 'utf8')) as { num_params: number; resolution: number };

/** A state dict holding only names and shapes: enough for key checks and inference. */
function shapesOnly(expected: readonly ExpectedTensor[]): SafetensorsFile {
  const tensors = new Map(expected.map((e) => [e.name, { name: e.name, dtype: 'F32', shape: [...e.shape] } as unknown as TensorInfo]));
  return { metadata: {}, tensors, names: () => [...tensors.keys()], get: (n) => tensors.get(n)!, has: (n) => tensors.has(n) };
}

/** The standalone definition's `_make_divisible`, written out again from its Python. */
const pyMakeDivisible = (v: number, d = 8) => {
  const n = Math.max(d, Math.floor(Math.trunc(v + d / 2) / d) * d);
  return n < 0.9 * v ? n + d : n;
};

// Its two block kinds, from the reference forward's layer functions (the residual add is the caller's).
const { conv, depthwise, squeezeExcite, expectShape } = referenceLayers;
const DLI14_REFERENCE_BLOCKS: Record<string, ReferenceBlock> = {
  fused_project: (x, p, { c, E, outC, k, stride, padding, at }) =>
    conv(conv(x, expectShape(p.expand, [E, c, k, k], `${at}.expand`), stride, padding, true), expectShape(p.project, [outC, E, 1, 1], `${at}.project`), 1, padding, false),
  mbconv_rounded_se: (x, p, { c, E, outC, k, stride, padding, at }) => {
    const seC = pyMakeDivisible(Math.floor(c / 4));
    let h = conv(x, expectShape(p.expand, [E, c, 1, 1], `${at}.expand`), 1, padding, true);
    h = depthwise(h, expectShape(p.dw, [E, 1, k, k], `${at}.dw`), stride, padding);
    h = squeezeExcite(h, expectShape(p.se?.reduce, [seC, E, 1, 1], `${at}.se.reduce`), expectShape(p.se?.expand, [E, seC, 1, 1], `${at}.se.expand`));
    return conv(h, expectShape(p.project, [outC, E, 1, 1], `${at}.project`), 1, padding, false);
  },
};

describe('the standalone EfficientNetV2 definition as a zoo family', () => {
  it('effnetv2_s(width_mult=0.5) has the fixture\'s parameter count', () => {
    expect(modelInfo(FIXTURES.dli14_effnetv2_s_w050.spec).params).toBe(meta('dli14_effnetv2_s_w050').num_params);
  });

  it('has its stage tables, stem 24 and head 1792 scaled only above width 1', () => {
    const s = getArch('effnetv2_s');
    expect(s.stages.map((r) => [r.expand, r.outC, r.repeats, r.stride, r.se > 0 ? 1 : 0])).toEqual([
      [1, 24, 2, 1, 0], [4, 48, 4, 2, 0], [4, 64, 4, 2, 0], [4, 128, 6, 2, 1], [6, 160, 9, 1, 1], [6, 256, 15, 2, 1],
    ]);
    expect(s.stages.map((r) => r.block)).toEqual(['fused_project', 'fused_project', 'fused_project', 'mbconv_rounded_se', 'mbconv_rounded_se', 'mbconv_rounded_se']);
    expect(getArch('effnetv2_xl').stages.map((r) => r.repeats)).toEqual([4, 8, 8, 16, 24, 32, 8]);
    for (const v of zooVariants('effnetv2_dli14')) {
      expect(getArch(v)).toMatchObject({ stemC: 24, headC: 1792, bnEps: 1e-5, padding: 'symmetric' });
      expect(scaledArch(v, { width: 0.5 }).headC).toBe(1792);
      expect(scaledArch(v, { width: 1.5 })).toMatchObject({ name: `${v}_w1.5`, stemC: 40, headC: 2688 });
    }
  });

  it('rounds SE widths to multiples of 8 of a quarter of the block input, and keeps the 1×1 convs at expand 1', () => {
    const ops = layerOps(FIXTURES.dli14_effnetv2_s_w050.spec);
    const se = ops.filter((o) => o.op.kind === 'se').map((o) => [o.owner!.plan.inC, (o.op as { seC: number }).seC]);
    for (const [inC, seC] of se) expect(seC).toBe(pyMakeDivisible(Math.floor(inC! / 4)));
    expect(se).toContainEqual([80, 24]);
    // features.1.0 (expand 1, 16 → 16): a 3×3 conv and the 1×1 projection, which adds the block input.
    const first = ops.filter((o) => o.module === 'features.1.0');
    expect(first.map((o) => [o.op.kind, o.op.kind === 'se' ? 0 : (o.op as { outC: number }).outC])).toEqual([['fused', 16], ['pwconv', 16]]);
    expect(first[1]!.res).toBe(0);
  });

  it('rejects a width that is not a positive number', () => {
    expect(() => scaledArch('effnetv2_s', { width: 0 })).toThrow(/width must be a positive number/);
    expect(() => scaledArch('effnetv2_q', { width: 1 })).toThrow(/unknown architecture 'effnetv2_q'/);
  });
});

describe('EfficientNet-B0_small (PaddleClas)', () => {
  it('is B0 without SE, within rounding of PaddleClas\'s 4.65 M parameters', () => {
    const spec = getArch('efficientnet_b0_small');
    expect(spec.stages.every((r) => r.se === 0)).toBe(true);
    const info = modelInfo(spec);
    expect((info.params / 1e6).toFixed(2)).toBe('4.65');
    expect(info.published).toEqual({ params: 4.65e6, macs: 0.72e9, source: 'PaddleClas model zoo' });
  });

  it('effnet info prints our figures beside PaddleClas\'s', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await infoCommand.run(['efficientnet_b0_small'])).toBe(0);
      const out = log.mock.calls.map((c) => c.join(' ')).join('\n');
      expect(out).toMatch(/PaddleClas model zoo: 4\.65 M params, 0\.72 G multiply-adds \(ours: 4\.65 M params, 0\.39 G multiply-adds\)/);
    } finally {
      log.mockRestore();
    }
  });
});

describe('EfficientNet-PyTorch', () => {
  it('b0 (V1 table, TF SAME padding, BN eps 1e-3) has the fixture\'s parameter count', () => {
    expect(modelInfo(FIXTURES.lukemelas_b0.spec).params).toBe(meta('lukemelas_b0').num_params);
  });
});

describe('namings and the seed checkpoints', () => {
  it.each(Object.keys(FIXTURES) as FixtureName[])('%s: the naming produces exactly the checkpoint\'s keys and shapes', (name) => {
    const { spec, naming } = FIXTURES[name];
    const file = checkpoint(name);
    expect(() => checkTensorSet({ source: name, arch: spec.name }, expectedStateDict(spec, naming), file.tensors.values(), { ignore: naming.ignore })).not.toThrow();
  });

  it.each(Object.keys(FIXTURES) as FixtureName[])('%s: inferArch names the family, variant and width', (name) => {
    const { spec } = FIXTURES[name];
    expect(inferArch(checkpoint(name))).toEqual(spec);
  });

  it.each(Object.keys(FIXTURES) as FixtureName[])('%s: loads (arch given or inferred) and its float64 reference forward gives the PyTorch logits', async (name) => {
    const path = `${seeds}${name}.pth`;
    const inferred = await inferWeightsArch(path);
    expect(inferred).toEqual(FIXTURES[name].spec);
    const { spec, params, format } = await resolveWeights(FIXTURES[name].spec, path);
    expect(format).toBe(name.startsWith('lukemelas') ? 'efficientnet_pytorch' : 'effnetv2_dli14');
    const io = parseSafetensors(new Uint8Array(readFileSync(`${seeds}${name}.io.safetensors`)));
    const input = io.get('input');
    const got = referenceForward(params, spec, { data: input.f32(), shape: input.shape as [number, number, number, number], layout: 'NCHW' }, { blocks: DLI14_REFERENCE_BLOCKS }).logits!;
    expect(errorStats(got.data, io.get('logits').f32()).relL2).toBeLessThanOrEqual(MODEL_TOLERANCE.relL2);
  }, 120_000);

  it('EfficientNet-PyTorch files given an arch get its padding and BN eps', async () => {
    const { spec, format } = await resolveWeights(getArch('efficientnet_b0'), `${seeds}lukemelas_b0.pth`);
    expect(format).toBe('efficientnet_pytorch');
    expect(spec).toMatchObject({ name: 'efficientnet_b0', padding: 'same', bnEps: 1e-3 });
  });
});

describe('inferArch over every family, variant and width', () => {
  const cases: [string, ArchSpec, StateDictNaming][] = [
    ...zooVariants('effnetv2_dli14').flatMap((v) => [0.5, 0.75, 1, 1.25, 2].map((width): [string, ArchSpec, StateDictNaming] => [`${v} w${width}`, scaledArch(v, { width }), DLI14_NAMING])),
    ...zooVariants('efficientnet').map((v): [string, ArchSpec, StateDictNaming] => [`efficientnet_pytorch ${v}`, { ...getArch(v), ...EFFICIENTNET_PYTORCH_OVERRIDES }, EFFICIENTNET_PYTORCH_NAMING]),
    ...['efficientnet_b3', 'efficientnet_v2_m'].map((v): [string, ArchSpec, StateDictNaming] => [`torchvision ${v}`, getArch(v), TORCHVISION_NAMING]),
    ['timm efficientnet_b4', { ...getArch('efficientnet_b4'), padding: 'symmetric', bnEps: 1e-5 }, TIMM_NAMING],
  ];

  it.each(cases)('%s', (_, spec, naming) => {
    expect(inferArch(shapesOnly(expectedStateDict(spec, naming)))).toEqual(spec);
  });

  it('lists what it tried when nothing matches', () => {
    const expected = expectedStateDict(scaledArch('effnetv2_m', { width: 0.5 }), DLI14_NAMING).filter((e) => e.name !== 'features.14.conv.7.weight');
    try {
      inferArch(shapesOnly(expected), { source: 'cut.pth' });
      throw new Error('expected a WEIGHTS error');
    } catch (e) {
      expect(isEffnetError(e, 'WEIGHTS'), String(e)).toBe(true);
      expect((e as Error).message).toMatch(/^cut\.pth: no architecture matches this effnetv2_dli14 state_dict \(\d+ tensors\); tried: effnetv2_s, effnetv2_m, effnetv2_m_w0\.5, .*effnetv2_xl/);
    }
  });

  it('names the formats it knows for keys of none', () => {
    expect(() => inferArch(shapesOnly([{ name: 'backbone.stem.weight', shape: [8, 3, 3, 3] }]), { source: 'x.pth' }))
      .toThrow(/^x\.pth: not a torchvision \(features\.0\.0\.weight\), effnetv2_dli14 \(.*\), efficientnet_pytorch \(_conv_stem\.weight\) or timm \(conv_stem\.weight\) EfficientNet state_dict; first tensors: backbone\.stem\.weight$/);
  });
});
