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
