import type { LayerParams, NetOp, ParamTensor } from '../model/ops.js';

/**
 * The engine's canonical parameters: one record per layer of `planLayers(spec)`, in torchvision layouts
 * (conv OIHW, depthwise [C, 1, k, k], linear [out, in]) with BatchNorm already folded into weight and
 * bias. Every weight loader (torchvision, timm, TensorFlow.js) produces this; the runtime packs it into
 * each kernel's layout. Keeping one canonical form means a new weight format is one mapping function.
 */
export interface ConvParams {
  /** OIHW; for depthwise convs I = 1. */
  weight: Float32Array;
  shape: [outC: number, inC: number, kh: number, kw: number];
  bias: Float32Array;
}

export interface BlockParams {
  /** MBConv: the 1×1 expansion; Fused-MBConv: the k×k expansion conv. Absent when expand = 1. */
  expand?: ConvParams;
  /** MBConv only: the depthwise k×k conv. */
  dw?: ConvParams;
  /** Squeeze-and-excitation: reduce [seC, E, 1, 1] (SiLU) and expand [E, seC, 1, 1] (sigmoid), with biases. */
  se?: { reduce: ConvParams; expand: ConvParams };
  /**
   * The conv that produces the block output: a 1×1 projection (no activation), or — for a Fused-MBConv
   * block with expand = 1 — the block's single k×k conv (with SiLU).
   */
  project: ConvParams;
}

export interface ModelParams {
  stem: ConvParams;
  blocks: BlockParams[];
  head: ConvParams;
  classifier: { weight: Float32Array; shape: [outC: number, inC: number]; bias: Float32Array };
  /**
   * Per-input-channel affine applied to the raw input before the stem (x·scale + shift), for weights
   * whose graph normalises internally (the TF-Hub B0 takes [0, 1] RGB). Identity when absent.
   */
  inputAffine?: { scale: number[]; shift: number[] };
}

/** Where ModelParams keeps an op's parameters: `slot` of the model or of its block; SE's two convs one level down. */
type ParamPlace = Pick<NetOp, 'slot' | 'owner'>;
type Holder = Record<string, LayerParams | Record<string, LayerParams> | undefined>;

const holderOf = (p: ModelParams, at: ParamPlace): Holder | undefined =>
  (at.owner ? p.blocks[at.owner.index] : p) as unknown as Holder | undefined;

/** An op's parameter tensor in `p` (`part` picks one of SE's two convs), or undefined when `p` lacks it. */
export function paramValue(p: ModelParams, at: ParamPlace, part?: string): LayerParams | undefined {
  const v = holderOf(p, at)?.[at.slot];
  return (part ? (v as Record<string, LayerParams> | undefined)?.[part] : v) as LayerParams | undefined;
}

/** ModelParams holding `value(t)` for every parameter tensor `t` of the network (what a loader assembles). */
export function assembleParams(tensors: readonly ParamTensor[], value: (t: ParamTensor) => LayerParams): ModelParams {
  const p = { blocks: [] as BlockParams[] } as unknown as ModelParams;
  for (const t of tensors) {
    if (t.op.owner) p.blocks[t.op.owner.index] ??= {} as BlockParams;
    const holder = holderOf(p, t.op)!;
    if (t.part === undefined) holder[t.op.slot] = value(t);
    else ((holder[t.op.slot] ??= {}) as Record<string, LayerParams>)[t.part] = value(t);
  }
  return p;
}

export interface BatchNorm {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
}

/**
 * Fold inference BatchNorm into the preceding bias-free conv: w' = w·γ/√(σ²+ε), b' = β − μ·γ/√(σ²+ε).
 * Computed in float64 and rounded once, so folding adds at most half an ULP per weight.
 */
export function foldBatchNorm(weight: Float32Array, shape: ConvParams['shape'], bn: BatchNorm, eps: number): ConvParams {
  const [outC] = shape;
  const per = weight.length / outC;
  const w = new Float32Array(weight.length);
  const b = new Float32Array(outC);
  for (let o = 0; o < outC; o++) {
    const s = bn.gamma[o]! / Math.sqrt(bn.variance[o]! + eps);
    for (let i = 0; i < per; i++) w[o * per + i] = weight[o * per + i]! * s;
    b[o] = bn.beta[o]! - bn.mean[o]! * s;
  }
  return { weight: w, shape, bias: b };
}
