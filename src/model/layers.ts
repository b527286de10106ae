import { EffnetError } from '../errors';
import type { ArchSpec, BlockType } from './tables';

/** Expands an ArchSpec at a concrete input size into the blocks the engine runs, named like torchvision's modules. */

export interface StemPlan {
  inC: 3;
  outC: number;
  kernel: 3;
  stride: 2;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
}

export interface BlockPlan {
  /** 1-based table row; features.0 is the stem. */
  stage: number;
  /** Position within the stage. */
  index: number;
  /** torchvision module path, e.g. 'features.3.1'. */
  name: string;
  block: BlockType;
  inC: number;
  outC: number;
  /** inC × expand; when it equals inC there is no expansion conv (a fused block is then one k×k conv inC→outC). */
  expandC: number;
  kernel: number;
  stride: number;
  /** Squeeze width max(1, floor(inC × se)), 0 without SE. */
  seC: number;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  residual: boolean;
}

export interface HeadPlan {
  inC: number;
  outC: number;
  H: number;
  W: number;
}

export interface LayerPlan {
  stem: StemPlan;
  blocks: BlockPlan[];
  head: HeadPlan;
  classifier: { inC: number; outC: number };
}

/**
 * Output size and leading pad of one conv axis. 'symmetric' pads floor(k/2) on both sides (torchvision);
 * 'same' is TensorFlow SAME: out = ceil(in/s) and the total pad max((out-1)s + k - in, 0) is split with the
 * odd pixel at the end (bottom/right), so it differs from symmetric on even inputs with stride 2.
 */
export function convGeometry(
  size: number,
  kernel: number,
  stride: number,
  padding: ArchSpec['padding'],
): { out: number; padBefore: number; padAfter: number } {
  if (padding === 'symmetric') {
    const pad = Math.floor(kernel / 2);
    return { out: Math.floor((size + 2 * pad - kernel) / stride) + 1, padBefore: pad, padAfter: pad };
  }
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  return { out, padBefore: Math.floor(total / 2), padAfter: total - Math.floor(total / 2) };
}

export function planLayers(spec: ArchSpec, res: number = spec.resolution): LayerPlan {
  if (!Number.isInteger(res) || res <= 0) throw new EffnetError('MODEL_SPEC', `resolution must be a positive integer, got ${res}`);
  const out = (size: number, k: number, s: number) => convGeometry(size, k, s, spec.padding).out;
  const stemOut = out(res, 3, 2);
  const stem: StemPlan = { inC: 3, outC: spec.stemC, kernel: 3, stride: 2, inH: res, inW: res, outH: stemOut, outW: stemOut };

  const blocks: BlockPlan[] = [];
  let c = spec.stemC;
  let h = stemOut;
  let w = stemOut;
  spec.stages.forEach((row, si) => {
    for (let i = 0; i < row.repeats; i++) {
      const stride = i === 0 ? row.stride : 1;
      const b: BlockPlan = {
        stage: si + 1,
        index: i,
        name: `features.${si + 1}.${i}`,
        block: row.block,
        inC: c,
        outC: row.outC,
        expandC: c * row.expand,
        kernel: row.kernel,
        stride,
        seC: row.se > 0 ? Math.max(1, Math.floor(c * row.se)) : 0,
        inH: h,
        inW: w,
        outH: out(h, row.kernel, stride),
        outW: out(w, row.kernel, stride),
        residual: stride === 1 && c === row.outC,
      };
      blocks.push(b);
      [c, h, w] = [b.outC, b.outH, b.outW];
    }
  });
  return { stem, blocks, head: { inC: c, outC: spec.headC, H: h, W: w }, classifier: { inC: spec.headC, outC: spec.numClasses } };
}

type Act = 'silu' | 'none';
type Padding = ArchSpec['padding'];

/** Kernel-level ops. Conv H/W are the INPUT sizes; output sizes follow from k, s and padding via convGeometry. */
export type LayerOp =
  | { kind: 'stem'; inC: number; outC: number; H: number; W: number; k: number; s: number; padding: Padding }
  | { kind: 'dwconv'; C: number; H: number; W: number; k: number; s: number; padding: Padding }
  /** seScaled: the input is multiplied by the SE gate per channel; residual: the block input is added. */
  | { kind: 'pwconv'; inC: number; outC: number; H: number; W: number; act: Act; residual: boolean; seScaled: boolean }
  | { kind: 'fused'; inC: number; outC: number; H: number; W: number; k: number; s: number; act: Act; residual: boolean; padding: Padding }
  /** H/W: the gated tensor's size, which the squeeze averages over. */
  | { kind: 'se'; C: number; seC: number; H: number; W: number }
  | { kind: 'head'; inC: number; outC: number; H: number; W: number }
  | { kind: 'classifier'; inC: number; outC: number };

export type LayerShape = LayerOp & { key: string };

/** The ops one block runs, in order (torchvision MBConv / FusedMBConv). */
function blockOps(b: BlockPlan, padding: Padding): LayerOp[] {
  const expanded = b.expandC !== b.inC;
  const se = b.seC > 0;
  const project: LayerOp = {
    kind: 'pwconv', inC: b.expandC, outC: b.outC, H: b.outH, W: b.outW, act: 'none', residual: b.residual, seScaled: se,
  };
  const gate: LayerOp[] = se ? [{ kind: 'se', C: b.expandC, seC: b.seC, H: b.outH, W: b.outW }] : [];
  const spatial = { H: b.inH, W: b.inW, k: b.kernel, s: b.stride, padding };
  if (b.block === 'mbconv') {
    return [
      ...(expanded ? [{ kind: 'pwconv', inC: b.inC, outC: b.expandC, H: b.inH, W: b.inW, act: 'silu', residual: false, seScaled: false } as const] : []),
      { kind: 'dwconv', C: b.expandC, ...spatial },
      ...gate,
      project,
    ];
  }
  if (!expanded) return [{ kind: 'fused', inC: b.inC, outC: b.outC, ...spatial, act: 'silu', residual: b.residual }];
  return [{ kind: 'fused', inC: b.inC, outC: b.expandC, ...spatial, act: 'silu', residual: false }, ...gate, project];
}

/** One op of the forward pass, tagged with the torchvision module it belongs to and its table row (0 = stem, N+1 = head). */
export interface PlacedOp {
  module: string;
  stage: number;
  op: LayerOp;
}

/** The whole forward pass as kernel-level ops, in execution order. */
export function layerOps(spec: ArchSpec, res: number = spec.resolution): PlacedOp[] {
  const plan = planLayers(spec, res);
  const { stem, head } = plan;
  const last = spec.stages.length + 1;
  return [
    { module: 'features.0', stage: 0, op: { kind: 'stem', inC: 3, outC: stem.outC, H: stem.inH, W: stem.inW, k: 3, s: 2, padding: spec.padding } },
    ...plan.blocks.flatMap((b) => blockOps(b, spec.padding).map((op) => ({ module: b.name, stage: b.stage, op }))),
    { module: `features.${last}`, stage: last, op: { kind: 'head', ...head } },
    { module: 'classifier.1', stage: last, op: { kind: 'classifier', ...plan.classifier } },
  ];
}

const keyOf = (op: LayerOp): string =>
  `${op.kind}:${Object.entries(op).filter(([k]) => k !== 'kind').map(([k, v]) => `${k}=${v}`).join(',')}`;

/** Every distinct op shape the network runs at `res`, in first-use order, each with a unique `key`. */
export function distinctLayerShapes(spec: ArchSpec, res: number = spec.resolution): LayerShape[] {
  const seen = new Map<string, LayerShape>();
  for (const { op } of layerOps(spec, res)) {
    const key = keyOf(op);
    if (!seen.has(key)) seen.set(key, { ...op, key });
  }
  return [...seen.values()];
}
