/**
 * PyTorch state_dict → ModelParams. torchvision and timm store the same tensors in the same layouts
 * (conv OIHW, depthwise [C,1,k,k], linear [out,in], BatchNorm unfolded); only the key names differ, so
 * both loaders are a naming scheme handed to `paramsFromStateDict`, which checks and folds.
 */
import { EffnetError } from '../errors.js';
import type { ArchSpec } from '../model/tables.js';
import type { SafetensorsFile } from '../safetensors.js';
import { assertFinite, checkTensorSet, paramShapes, type BlockShapes, type ExpectedTensor, type Shape4 } from './check.js';
import { foldBatchNorm, type BlockParams, type ConvParams, type ModelParams } from './params.js';

/** A bias-free conv followed by BatchNorm: `weight` is the conv's key, `bn` the BN module's prefix. */
export interface ConvBnNames {
  weight: string;
  bn: string;
}

/** Where one block's tensors live; a naming gives exactly the convs the block has (see paramShapes). */
export interface BlockNames {
  expand?: ConvBnNames;
  dw?: ConvBnNames;
  /** Module prefixes of the SE 1×1 convs (with bias, no BN). */
  se?: { reduce: string; expand: string };
  project: ConvBnNames;
}

export interface StateDictNaming {
  stem: ConvBnNames;
  /** `s.plan` gives the block's position; the presence of s.expand/dw/se says which convs it has. */
  block(s: BlockShapes): BlockNames;
  head: ConvBnNames;
  /** Prefix of the classifier Linear (`.weight`, `.bias`). */
  classifier: string;
  /** Keys the format carries that inference never reads. */
  ignore(name: string): boolean;
}

export interface StateDictOptions {
  /** Names the file in error messages. */
  source?: string;
  /** BatchNorm epsilon; default spec.bnEps. */
  bnEps?: number;
}

const BN_FIELDS = ['weight', 'bias', 'running_mean', 'running_var'] as const;

/** Checks the file against the full expected tensor list for `spec`, then reads and folds every conv. */
export function paramsFromStateDict(file: SafetensorsFile, spec: ArchSpec, naming: StateDictNaming, opts: StateDictOptions = {}): ModelParams {
  const source = opts.source ?? '<safetensors>';
  const eps = opts.bnEps ?? spec.bnEps;
  const shapes = paramShapes(spec);

  // 1. The complete expected list, from the architecture alone.
  const expected: ExpectedTensor[] = [];
  const expectConvBn = (n: ConvBnNames, shape: Shape4) => {
    expected.push({ name: n.weight, shape });
    for (const f of BN_FIELDS) expected.push({ name: `${n.bn}.${f}`, shape: [shape[0]] });
  };
  const expectBiased = (prefix: string, shape: readonly number[]) => {
    expected.push({ name: `${prefix}.weight`, shape }, { name: `${prefix}.bias`, shape: [shape[0]!] });
  };
  expectConvBn(naming.stem, shapes.stem);
  const blockNames = shapes.blocks.map((s) => {
    const n = naming.block(s);
    // A naming that disagrees with paramShapes about which convs exist is a bug in the naming, not the file.
    for (const k of ['expand', 'dw', 'se'] as const) {
      if (!s[k] !== !n[k]) throw new EffnetError('WEIGHTS', `state-dict naming for ${s.plan.name}: '${k}' ${s[k] ? 'missing' : 'given but the block has none'}`);
    }
    return n;
  });
  shapes.blocks.forEach((s, i) => {
    const n = blockNames[i]!;
    if (s.expand && n.expand) expectConvBn(n.expand, s.expand);
    if (s.dw && n.dw) expectConvBn(n.dw, s.dw);
    if (s.se && n.se) {
      expectBiased(n.se.reduce, s.se.reduce);
      expectBiased(n.se.expand, s.se.expand);
    }
    expectConvBn(n.project, s.project);
  });
  expectConvBn(naming.head, shapes.head);
  expectBiased(naming.classifier, shapes.classifier);

  // 2. One error listing every difference.
  checkTensorSet({ source, arch: spec.name }, expected, file.tensors.values(), { ignore: (name) => naming.ignore(name) });

  // 3. Read (any float dtype → f32) and fold.
  const read = (name: string): Float32Array => {
    const v = file.get(name).f32();
    assertFinite(source, name, v);
    return v;
  };
  const convBn = (n: ConvBnNames, shape: Shape4): ConvParams => {
    const bn = { gamma: read(`${n.bn}.weight`), beta: read(`${n.bn}.bias`), mean: read(`${n.bn}.running_mean`), variance: read(`${n.bn}.running_var`) };
    const folded = foldBatchNorm(read(n.weight), shape, bn, eps);
    // A negative running_var (corrupt statistics) would fold into NaN.
    assertFinite(source, `${n.weight} folded with ${n.bn}`, folded.bias);
    assertFinite(source, `${n.weight} folded with ${n.bn}`, folded.weight);
    return folded;
  };
  const biased = (prefix: string, shape: Shape4): ConvParams => ({ weight: read(`${prefix}.weight`), shape, bias: read(`${prefix}.bias`) });

  const blocks = shapes.blocks.map((s, i): BlockParams => {
    const n = blockNames[i]!;
    const b: BlockParams = { project: convBn(n.project, s.project) };
    if (s.expand && n.expand) b.expand = convBn(n.expand, s.expand);
    if (s.dw && n.dw) b.dw = convBn(n.dw, s.dw);
    if (s.se && n.se) b.se = { reduce: biased(n.se.reduce, s.se.reduce), expand: biased(n.se.expand, s.se.expand) };
    return b;
  });
  return {
    stem: convBn(naming.stem, shapes.stem),
    blocks,
    head: convBn(naming.head, shapes.head),
    classifier: { weight: read(`${naming.classifier}.weight`), shape: shapes.classifier, bias: read(`${naming.classifier}.bias`) },
  };
}

/** torchvision's Conv2dNormActivation is a Sequential: `.0` the conv, `.1` the BatchNorm. */
const convNormAct = (prefix: string): ConvBnNames => ({ weight: `${prefix}.0.weight`, bn: `${prefix}.1` });

/**
 * torchvision efficientnet.py: `features.0` stem, `features.s.i.block` a Sequential of the block's layers
 * in execution order — [expand] [depthwise] [SE] project — numbered from 0 with absent layers skipped.
 * (MBConv expand 6: expand=0, dw=1, SE=2, project=3; expand 1: dw=0, SE=1, project=2; Fused expand 4:
 * expand=0, project=1; Fused expand 1: its single k×k conv is block.0.) `features.{last}` is the head.
 */
export function torchvisionNaming(spec: ArchSpec): StateDictNaming {
  const last = spec.stages.length + 1;
  return {
    stem: convNormAct('features.0'),
    block(s) {
      let i = 0;
      const next = () => `${s.plan.name}.block.${i++}`;
      const expand = s.expand ? convNormAct(next()) : undefined;
      const dw = s.dw ? convNormAct(next()) : undefined;
      const se = s.se ? next() : undefined;
      const project = convNormAct(next());
      return { expand, dw, se: se ? { reduce: `${se}.fc1`, expand: `${se}.fc2` } : undefined, project };
    },
    head: convNormAct(`features.${last}`),
    // classifier.0 is Dropout, which has no parameters.
    classifier: 'classifier.1',
    ignore: (name) => name.endsWith('.num_batches_tracked'),
  };
}

/** A torchvision `state_dict` (F32, F16, BF16 or F64 safetensors) → ModelParams with BN folded (eps = spec.bnEps). */
export function paramsFromTorchvision(file: SafetensorsFile, spec: ArchSpec, opts: StateDictOptions = {}): ModelParams {
  return paramsFromStateDict(file, spec, torchvisionNaming(spec), opts);
}
