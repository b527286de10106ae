/**
 * The op table: for each kind of op the network runs, its shape from the tensor it reads, its parameter
 * tensors (canonical torchvision layouts), its cost, its weight packing, and how it lowers to kernel launches.
 * The op list (layers.ts) is built with it, and the weight loaders, `modelInfo`, the graph builder and the
 * profiler read that list, so each of these facts is stated once.
 */
import { EffnetError } from '../errors.js';
import { dwconvLaunch, packDwconv } from '../kernels/dwconv.js';
import { fusedConvLaunch, packFusedConv } from '../kernels/fused_conv.js';
import type { Launch, LaunchTarget } from '../kernels/launch.js';
import { packPointwise, pointwiseLaunch } from '../kernels/pointwise.js';
import { poolLaunch } from '../kernels/pool.js';
import { packSe, seExciteLaunch } from '../kernels/se.js';
import { denseStrides, packStem, stemLaunch } from '../kernels/stem.js';
import type { Ref, TensorRef } from '../runtime/graph.js';
import type { BlockPlan } from './layers.js';
import { convGeometry, type Padding } from '../kernels/geometry.js';

export type Act = 'silu' | 'none';

/** Kernel-level op shapes. Conv H/W are the INPUT sizes; output sizes follow from k, s and padding via convGeometry. */
export type LayerOp =
  | { kind: 'stem'; inC: number; outC: number; H: number; W: number; k: number; s: number; padding: Padding }
  | { kind: 'dwconv'; C: number; H: number; W: number; k: number; s: number; padding: Padding }
  /** seScaled: the input is multiplied by the SE gate per channel; residual: the block input is added. */
  | { kind: 'pwconv'; inC: number; outC: number; H: number; W: number; act: Act; residual: boolean; seScaled: boolean }
  | { kind: 'fused'; inC: number; outC: number; H: number; W: number; k: number; s: number; act: Act; residual: boolean; padding: Padding }
  /** H/W: the gated tensor's size, which the squeeze averages over. */
  | { kind: 'se'; C: number; seC: number; H: number; W: number }
  | { kind: 'head'; inC: number; outC: number; H: number; W: number }
  /** Global average pool + Linear. */
  | { kind: 'classifier'; inC: number; outC: number };

export type OpKind = LayerOp['kind'];
export type OpOf<K extends OpKind> = Extract<LayerOp, { kind: K }>;

/** What a step asks of its op beyond the tensor it reads (k and stride of the stem are the kernel's: 3, 2). */
interface StepFields {
  stem: { outC: number };
  dwconv: { k: number; s: number };
  pwconv: { outC: number; act: Act };
  fused: { outC: number; k: number; s: number; act: Act };
  se: { seC: number };
  head: { outC: number };
  classifier: { outC: number };
}

/**
 * One step of a block (blocks.ts) or of the network's ends: an op kind and its fields. `name` names the op
 * in the graph (`features.2.0.dwconv`) and, unless `param` says otherwise, its parameters (`features.2.0.dw`).
 */
export type Step = { [K in OpKind]: { kind: K; name: string; param?: string } & StepFields[K] }[OpKind];
type StepOf<K extends OpKind> = Extract<Step, { kind: K }>;

/** C channels of H × W. */
export interface Tensor3 {
  C: number;
  H: number;
  W: number;
}

/** A parameter tensor of an op, in the canonical (torchvision) layout. */
export interface ParamSpec {
  /** Absent for an op's only tensor; SE's two 1×1 convs are 'reduce' and 'expand'. */
  part?: 'reduce' | 'expand';
  /** OIHW (depthwise [C, 1, k, k]); the classifier's Linear is [out, in]. */
  shape: number[];
  /** 'bn': a bias-free conv followed by BatchNorm (loaders fold it); 'bias': a conv or Linear with its own bias. */
  norm: 'bn' | 'bias';
  /** A nonlinearity follows it (random weights use He gain 2 then, else 1). */
  activated: boolean;
}

/** Weight and bias of one parameter tensor, BatchNorm folded. */
export interface LayerParams {
  weight: Float32Array;
  shape: readonly number[];
  bias: Float32Array;
}

/** One op of the forward pass, in execution order. */
export interface NetOp {
  /** Position in the op list. */
  index: number;
  op: LayerOp;
  /** torchvision module path: 'features.0' (stem), 'features.2.0', 'features.N' (head conv), 'classifier.1'. */
  module: string;
  /** Table row: 0 = stem, 1..N = stages, N + 1 = head and classifier. */
  stage: number;
  /** Profiling pass: 'stem', 'stage1'…, 'head'. */
  pass: string;
  /** 'stem', the stage's block kind, or 'head'. */
  block: string;
  /** The graph op's name. */
  name: string;
  /** The name of the tensor it writes. */
  tensor: string;
  /** Canonical key of its parameters ('stem', 'features.2.0.dw', 'features.2.0.se', 'classifier'). */
  param: string;
  /** Where ModelParams holds them: `slot` of the model, or of block `owner.index` when the op belongs to a block. */
  slot: string;
  owner?: { plan: BlockPlan; index: number };
  /** Position among its module's ops: torchvision numbers a block's layers this way. */
  layer: number;
  /** Wiring, as op indexes (-1 = the network input): the tensor it reads, the residual it adds, the SE gate it applies. */
  x: number;
  res?: number;
  gate?: number;
  in: Tensor3;
  out: Tensor3;
  /** torchvision's `features.i` when its result is that feature map. */
  feature?: string;
  /** Per image: 2 × multiply-adds, and parameters as torchvision counts them. */
  flops: number;
  params: number;
  /** Elements of the tensor the module computes (the largest of them sizes a buffer). */
  outElements: number;
}

type NetOpOf<K extends OpKind> = NetOp & { op: OpOf<K> };

/** The squeeze partial sums an SE op reads: `slots` per image, over an H × W map. */
export interface Squeeze {
  part: TensorRef;
  slots: number;
  H: number;
  W: number;
}

/** What lowering an op may do: read results, make tensors, add launches (graph builder). */
export interface Lowering {
  readonly N: number;
  readonly target: LaunchTarget;
  readonly input: { layout: 'nchw' | 'nhwc'; height: number; width: number; affine?: { scale: number[]; shift: number[] } };
  /** A binding nothing reads (a fusion that is switched off). */
  readonly none: Ref;
  /** Op i's result (-1: the network input). */
  result(i: number): TensorRef;
  /** The ops that read op i's result. */
  readers(i: number): NetOp[];
  /** Squeezes a conv fused into itself, by the index of the SE op they feed. */
  readonly squeezes: Map<number, Squeeze>;
  tensor(name: string, h: number, w: number, c: number): TensorRef;
  weight(op: NetOp, suffix: string): Ref;
  launch(op: NetOp, name: string, launch: Launch, bind: Record<string, Ref>, flops: number): void;
}

interface OpDef<K extends OpKind> {
  shape(step: StepOf<K>, x: Tensor3, wiring: { padding: Padding; residual: boolean; gated: boolean }): OpOf<K>;
  out(op: OpOf<K>): Tensor3;
  /** What the kernel fuses: the residual add after it, the SE gate on its input. */
  fuses: { residual: boolean; gate: boolean };
  /** An SE op: its result gates the next op's input instead of replacing it. */
  gates?: true;
  params(op: OpOf<K>): ParamSpec[];
  /** Multiply-adds per image. */
  macs(op: OpOf<K>): number;
  outElements(op: OpOf<K>): number;
  /** Packed weights by suffix ('w', 'b'; SE: 'w1', 'b1', 'w2', 'b2'), from `values` in params(op) order. */
  pack(op: OpOf<K>, values: LayerParams[]): Record<string, Float32Array>;
  /** Adds the op's launches and returns its result. */
  lower(op: NetOpOf<K>, g: Lowering): TensorRef;
}

const conv = (outC: number, inC: number, k: number, activated: boolean): ParamSpec[] => [{ shape: [outC, inC, k, k], norm: 'bn', activated }];
const convOut = (op: { outC: number; H: number; W: number; k: number; s: number; padding: Padding }): Tensor3 => ({
  C: op.outC,
  H: convGeometry(op.H, op.k, op.s, op.padding).out,
  W: convGeometry(op.W, op.k, op.s, op.padding).out,
});
const elements = (t: Tensor3) => t.C * t.H * t.W;
const wb = (p: { w: Float32Array; b: Float32Array }) => ({ w: p.w, b: p.b });
const noFusion = { residual: false, gate: false };

function lowerPointwise(g: Lowering, op: NetOpOf<'pwconv' | 'head'>, act: Act, residual: boolean, seScaled: boolean): TensorRef {
  const { inC, outC, H, W } = op.op;
  const y = g.tensor(op.tensor, H, W, outC);
  g.launch(op, op.name, pointwiseLaunch({ N: g.N, H, W, inC, outC, act, residual, seScale: seScaled }, g.target), {
    x: g.result(op.x), w: g.weight(op, 'w'), b: g.weight(op, 'b'),
    se: op.gate === undefined ? g.none : g.result(op.gate),
    res: op.res === undefined ? g.none : g.result(op.res),
    y,
  }, g.N * op.flops);
  return y;
}

const stem: OpDef<'stem'> = {
  shape: (step, x, { padding }) => ({ kind: 'stem', inC: x.C, outC: step.outC, H: x.H, W: x.W, k: 3, s: 2, padding }),
  out: convOut,
  fuses: noFusion,
  params: (op) => conv(op.outC, op.inC, op.k, true),
  macs: (op) => elements(convOut(op)) * op.inC * op.k * op.k,
  outElements: (op) => elements(convOut(op)),
  pack: (op, [p]) => wb(packStem(p!.weight, p!.bias, op.outC)),
  lower(op, g) {
    const { height, width, layout, affine } = g.input;
    const y = g.tensor(op.tensor, op.out.H, op.out.W, op.out.C);
    g.launch(op, op.name, stemLaunch({ N: g.N, outC: op.op.outC, H: height, W: width, padding: op.op.padding, strides: denseStrides(layout, height, width), affine }, g.target),
      { x: g.result(op.x), w: g.weight(op, 'w'), b: g.weight(op, 'b'), y }, g.N * op.flops);
    return y;
  },
};

const dwconv: OpDef<'dwconv'> = {
  shape: (step, x, { padding }) => ({ kind: 'dwconv', C: x.C, H: x.H, W: x.W, k: step.k, s: step.s, padding }),
  out: (op) => convOut({ ...op, outC: op.C }),
  fuses: noFusion,
  params: (op) => conv(op.C, 1, op.k, true),
  macs: (op) => elements(convOut({ ...op, outC: op.C })) * op.k * op.k,
  outElements: (op) => elements(convOut({ ...op, outC: op.C })),
  pack: (op, [p]) => wb(packDwconv(p!.weight, p!.bias, op.C, op.k)),
  lower(op, g) {
    const { C, H, W, k, s, padding } = op.op;
    // An SE op reading this result gets its squeeze from the conv's partial sums instead of a pooling pass.
    const se = g.readers(op.index).find((r) => r.op.kind === 'se');
    const l = dwconvLaunch({ N: g.N, C, H, W, k, s, padding, squeeze: se !== undefined }, g.target);
    const y = g.tensor(op.tensor, op.out.H, op.out.W, C);
    let part: Ref = g.none;
    if (se) {
      part = g.tensor(`${se.tensor}.part`, l.partSlots, 1, C);
      g.squeezes.set(se.index, { part, slots: l.partSlots, H: op.out.H, W: op.out.W });
    }
    const { kernel, overrides, uniforms, workgroups } = l;
    g.launch(op, op.name, { kernel, overrides, uniforms, workgroups }, { x: g.result(op.x), w: g.weight(op, 'w'), b: g.weight(op, 'b'), y, part }, g.N * op.flops);
    return y;
  },
};

/** A 1×1 conv over H × W (the pointwise kernel), whatever its place in the network. */
const oneByOne = {
  out: (op: { outC: number; H: number; W: number }): Tensor3 => ({ C: op.outC, H: op.H, W: op.W }),
  macs: (op: { inC: number; outC: number; H: number; W: number }) => op.H * op.W * op.inC * op.outC,
  outElements: (op: { outC: number; H: number; W: number }) => op.H * op.W * op.outC,
  pack: (op: { inC: number; outC: number }, [p]: LayerParams[]) => wb(packPointwise(p!.weight, p!.bias, op.inC, op.outC)),
};

const pwconv: OpDef<'pwconv'> = {
  ...oneByOne,
  shape: (step, x, { residual, gated }) => ({ kind: 'pwconv', inC: x.C, outC: step.outC, H: x.H, W: x.W, act: step.act, residual, seScaled: gated }),
  fuses: { residual: true, gate: true },
  params: (op) => conv(op.outC, op.inC, 1, op.act !== 'none'),
  lower: (op, g) => lowerPointwise(g, op, op.op.act, op.op.residual, op.op.seScaled),
};

const fused: OpDef<'fused'> = {
  shape: (step, x, { padding, residual }) => ({
    kind: 'fused', inC: x.C, outC: step.outC, H: x.H, W: x.W, k: step.k, s: step.s, act: step.act, residual, padding,
  }),
  out: convOut,
  fuses: { residual: true, gate: false },
  params: (op) => conv(op.outC, op.inC, op.k, op.act !== 'none'),
  macs: (op) => elements(convOut(op)) * op.inC * op.k * op.k,
  outElements: (op) => elements(convOut(op)),
  pack: (op, [p]) => wb(packFusedConv(p!.weight, p!.bias, op.inC, op.outC, op.k)),
  lower(op, g) {
    const { inC, outC, H, W, k, s, padding, act, residual } = op.op;
    const y = g.tensor(op.tensor, op.out.H, op.out.W, outC);
    g.launch(op, op.name, fusedConvLaunch({ N: g.N, inC, outC, H, W, k, s, padding, act, residual }, g.target), {
      x: g.result(op.x), w: g.weight(op, 'w'), b: g.weight(op, 'b'), res: op.res === undefined ? g.none : g.result(op.res), y,
    }, g.N * op.flops);
    return y;
  },
};

const se: OpDef<'se'> = {
  shape: (step, x) => ({ kind: 'se', C: x.C, seC: step.seC, H: x.H, W: x.W }),
  out: (op) => ({ C: op.C, H: op.H, W: op.W }),
  fuses: noFusion,
  gates: true,
  // torchvision SqueezeExcitation: fc1 (SiLU) and fc2 (sigmoid), 1×1 convs with bias and no BatchNorm.
  params: (op) => [
    { part: 'reduce', shape: [op.seC, op.C, 1, 1], norm: 'bias', activated: true },
    { part: 'expand', shape: [op.C, op.seC, 1, 1], norm: 'bias', activated: true },
  ],
  macs: (op) => 2 * op.C * op.seC,
  outElements: (op) => op.C,
  pack(op, [reduce, expand]) {
    const p = packSe(reduce!.weight, reduce!.bias, expand!.weight, expand!.bias, op.C, op.seC);
    return { w1: p.w1, b1: p.b1, w2: p.w2, b2: p.b2 };
  },
  lower(op, g) {
    const { C, seC, H, W } = op.op;
    let sq = g.squeezes.get(op.index);
    if (!sq) {
      // No conv fused the squeeze (a Fused-MBConv expansion has no depthwise pass): pool the gated tensor
      // instead, into one partial slot holding the mean, so the excite divides by 1.
      const part = g.tensor(`${op.tensor}.part`, 1, 1, C);
      g.launch(op, `${op.name}.squeeze`, poolLaunch({ N: g.N, C, H, W }, g.target), { x: g.result(op.x), y: part }, g.N * H * W * C);
      sq = { part, slots: 1, H: 1, W: 1 };
    }
    const gate = g.tensor(`${op.tensor}.gate`, 1, 1, C);
    g.launch(op, op.name, seExciteLaunch({ N: g.N, C, seC, H: sq.H, W: sq.W, partSlots: sq.slots }, g.target), {
      part: sq.part, w1: g.weight(op, 'w1'), b1: g.weight(op, 'b1'), w2: g.weight(op, 'w2'), b2: g.weight(op, 'b2'), se: gate,
    }, g.N * op.flops);
    return gate;
  },
};

const head: OpDef<'head'> = {
  ...oneByOne,
  shape: (step, x) => ({ kind: 'head', inC: x.C, outC: step.outC, H: x.H, W: x.W }),
  fuses: noFusion,
  params: (op) => conv(op.outC, op.inC, 1, true),
  lower: (op, g) => lowerPointwise(g, op, 'silu', false, false),
};

const classifier: OpDef<'classifier'> = {
  shape: (step, x) => ({ kind: 'classifier', inC: x.C, outC: step.outC }),
  out: (op) => ({ C: op.outC, H: 1, W: 1 }),
  fuses: noFusion,
  params: (op) => [{ shape: [op.outC, op.inC], norm: 'bias', activated: false }],
  macs: (op) => op.inC * op.outC,
  outElements: (op) => op.outC,
  pack: (op, [p]) => wb(packPointwise(p!.weight, p!.bias, op.inC, op.outC)),
  lower(op, g) {
    const { inC, outC } = op.op;
    const { H, W } = op.in;
    // The global pool is named after the pass ('head.pool') and, being adds only, is not in the table's FLOPs.
    const pooled = g.tensor(`${op.pass}.pool`, 1, 1, inC);
    g.launch(op, `${op.pass}.pool`, poolLaunch({ N: g.N, C: inC, H, W }, g.target), { x: g.result(op.x), y: pooled }, g.N * H * W * inC);
    const y = g.tensor(op.tensor, 1, 1, outC);
    g.launch(op, op.name, pointwiseLaunch({ N: g.N, H: 1, W: 1, inC, outC, act: 'none', residual: false, seScale: false }, g.target), {
      x: pooled, w: g.weight(op, 'w'), b: g.weight(op, 'b'), se: g.none, res: g.none, y,
    }, g.N * op.flops);
    return y;
  },
};

const OPS: { [K in OpKind]: OpDef<K> } = { stem, dwconv, pwconv, fused, se, head, classifier };

export const opDef = <K extends OpKind>(kind: K): OpDef<K> => {
  const def = OPS[kind];
  if (!def) throw new EffnetError('MODEL_SPEC', `unknown op kind '${kind}'`);
  return def;
};

/** A parameter tensor of the network: its op, its canonical key ('features.2.0.se.reduce') and its spec. */
export interface ParamTensor extends ParamSpec {
  op: NetOp;
  key: string;
}

/** Every parameter tensor of `ops`, in op order. */
export const paramTensors = (ops: readonly NetOp[]): ParamTensor[] =>
  ops.flatMap((op) => opDef(op.op.kind).params(op.op as never).map((p) => ({ ...p, op, key: p.part ? `${op.param}.${p.part}` : op.param })));
