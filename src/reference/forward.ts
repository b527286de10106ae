/**
 * A float64 CPU forward pass of an EfficientNet (V1 MBConv and V2 Fused-MBConv) straight from ModelParams:
 * plain loops, one image at a time, CHW planes. It is the ground truth other tests compare the GPU engine
 * with, so it deliberately shares no code with the engine's planning: block order, channel counts, strides
 * and padding are re-derived here from the ArchSpec rows.
 *
 * Semantics (torchvision efficientnet.py / TF-Hub B0, inference):
 *   stem     conv3×3 s2 + bias, SiLU
 *   MBConv   [1×1 expand + SiLU] → depthwise k×k (stride) + SiLU → [SE] → 1×1 project (no act) → [+ input]
 *   Fused    k×k expand (stride) + SiLU → [SE] → 1×1 project   |   expand 1: k×k conv (stride) + SiLU → [+ input]
 *   SE       gate = sigmoid(W_e · silu(W_r · mean_hw(x) + b_r) + b_e), x · gate per channel
 *   head     1×1 conv + SiLU → global average → linear
 * Residual when stride 1 and inC = outC. Padding: 'symmetric' pads k//2 on every side; 'same' is TF SAME
 * (out = ceil(in/s), total pad max((out−1)s + k − in, 0), the odd pixel at the bottom/right).
 * `inputAffine` is applied to the input before padding, so the padding stays zero in normalised space.
 */
import type { ArchSpec } from '../model/tables.js';
import { padGeometry as geometry, silu, type Padding } from './dwconv.js';
import type { BlockParams, ConvParams, ModelParams } from '../weights/params.js';

export interface ForwardInput {
  data: ArrayLike<number>;
  /** [N, C, H, W] for NCHW, [N, H, W, C] for NHWC. */
  shape: readonly [number, number, number, number];
  layout: 'NCHW' | 'NHWC';
}

export interface ForwardOptions {
  /** Default spec.padding. */
  padding?: Padding;
  /** Which images of the batch to run (default all). */
  images?: readonly number[];
  /** Keep every `features.i` output (stem = 0, stages, head conv = last), stacked NCHW. */
  keepFeatures?: boolean;
  /** Stop after this many feature maps (e.g. 3 → features.0..2); no logits then. Default: run to the end. */
  featureCount?: number;
  /**
   * Block kinds beyond 'mbconv' and 'fused' (a test's own block table row), written out from the layer
   * functions below. The residual add is the caller's, as for the built-in kinds.
   */
  blocks?: Record<string, ReferenceBlock>;
}

/** One block without its residual: `c` input channels, `E` = c × expand, `seC` 0 without SE. */
export type ReferenceBlock = (
  x: Map3,
  p: BlockParams,
  b: { c: number; E: number; outC: number; k: number; stride: number; seC: number; padding: Padding; at: string },
) => Map3;

export interface Tensor {
  data: Float64Array;
  shape: number[];
}

export interface ForwardResult {
  /** [n, numClasses], or undefined when stopped early. */
  logits?: Tensor;
  /** features[i] = `features.i`, [n, C, H, W]; present with keepFeatures or featureCount. */
  features: Tensor[];
}

/** One image's activation: C planes of H×W. */
export interface Map3 {
  c: number;
  h: number;
  w: number;
  d: Float64Array;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function expectShape(p: ConvParams | undefined, want: number[], what: string): ConvParams {
  if (!p) throw new Error(`reference forward: ${what} is missing`);
  if (p.shape.join() !== want.join()) throw new Error(`reference forward: ${what} has shape [${p.shape}], expected [${want}]`);
  return p;
}

/**
 * out[o·P + p] += Σ_k W[o·K + k] · col[k·P + p]: the one matrix product every dense conv reduces to.
 * Four outputs × four reduction rows per pass, so each output element is read and written once per 16
 * MACs; that (not SIMD) is what makes plain JS fast enough to run V2-S in a test.
 */
function gemmAccumulate(out: Float64Array, W: ArrayLike<number>, col: Float64Array, O: number, K: number, P: number): void {
  const wAt = (o: number, k: number) => (o < O && k < K ? W[o * K + k]! : 0);
  for (let o0 = 0; o0 < O; o0 += 4) {
    // Rows past the end alias the last real one with zero weights: adding 0 leaves it unchanged.
    const [r0, r1, r2, r3] = [0, 1, 2, 3].map((j) => Math.min(o0 + j, O - 1) * P) as [number, number, number, number];
    for (let k0 = 0; k0 < K; k0 += 4) {
      const [c0, c1, c2, c3] = [0, 1, 2, 3].map((j) => Math.min(k0 + j, K - 1) * P) as [number, number, number, number];
      const w00 = wAt(o0, k0), w01 = wAt(o0, k0 + 1), w02 = wAt(o0, k0 + 2), w03 = wAt(o0, k0 + 3);
      const w10 = wAt(o0 + 1, k0), w11 = wAt(o0 + 1, k0 + 1), w12 = wAt(o0 + 1, k0 + 2), w13 = wAt(o0 + 1, k0 + 3);
      const w20 = wAt(o0 + 2, k0), w21 = wAt(o0 + 2, k0 + 1), w22 = wAt(o0 + 2, k0 + 2), w23 = wAt(o0 + 2, k0 + 3);
      const w30 = wAt(o0 + 3, k0), w31 = wAt(o0 + 3, k0 + 1), w32 = wAt(o0 + 3, k0 + 2), w33 = wAt(o0 + 3, k0 + 3);
      for (let p = 0; p < P; p++) {
        const x0 = col[c0 + p]!, x1 = col[c1 + p]!, x2 = col[c2 + p]!, x3 = col[c3 + p]!;
        out[r0 + p]! += w00 * x0 + w01 * x1 + w02 * x2 + w03 * x3;
        out[r1 + p]! += w10 * x0 + w11 * x1 + w12 * x2 + w13 * x3;
        out[r2 + p]! += w20 * x0 + w21 * x1 + w22 * x2 + w23 * x3;
        out[r3 + p]! += w30 * x0 + w31 * x1 + w32 * x2 + w33 * x3;
      }
    }
  }
}

/** For each kernel column kx: the output columns whose tap lands inside the input, 0 <= ox·s − before + kx < W. */
function colRange(W: number, OW: number, kx: number, stride: number, before: number): [number, number] {
  return [Math.max(0, Math.ceil((before - kx) / stride)), Math.min(OW - 1, Math.floor((W - 1 + before - kx) / stride))];
}

/** Dense conv (OIHW weights), bias, optional SiLU; zero padding outside the input. */
function conv(x: Map3, p: ConvParams, stride: number, padding: Padding, act: boolean): Map3 {
  const [O, I, KH, KW] = p.shape;
  if (I !== x.c) throw new Error(`reference forward: conv expects ${I} input channels, got ${x.c}`);
  const gy = geometry(x.h, KH, stride, padding), gx = geometry(x.w, KW, stride, padding);
  const OH = gy.out, OW = gx.out, P = OH * OW, H = x.h, W = x.w;
  const out = new Float64Array(O * P);
  for (let o = 0; o < O; o++) out.fill(p.bias[o]!, o * P, (o + 1) * P);
  let col = x.d;
  if (KH !== 1 || KW !== 1 || stride !== 1) {
    // im2col: row (i·KH + ky)·KW + kx holds input channel i shifted by the tap, zeros where it falls
    // into the padding — the row order matches OIHW's flattening of each output's weights.
    col = new Float64Array(I * KH * KW * P);
    for (let i = 0; i < I; i++) {
      for (let ky = 0; ky < KH; ky++) {
        for (let kx = 0; kx < KW; kx++) {
          const row = ((i * KH + ky) * KW + kx) * P;
          const [ox0, ox1] = colRange(W, OW, kx, stride, gx.before);
          for (let oy = 0; oy < OH; oy++) {
            const iy = oy * stride - gy.before + ky;
            if (iy < 0 || iy >= H) continue;
            const src = (i * H + iy) * W - gx.before + kx;
            for (let ox = ox0; ox <= ox1; ox++) col[row + oy * OW + ox] = x.d[src + ox * stride]!;
          }
        }
      }
    }
  }
  gemmAccumulate(out, p.weight, col, O, I * KH * KW, P);
  if (act) for (let j = 0; j < out.length; j++) out[j] = silu(out[j]!);
  return { c: O, h: OH, w: OW, d: out };
}

/** Depthwise conv ([C,1,k,k] weights), bias, SiLU; zero padding outside the input. */
function depthwise(x: Map3, p: ConvParams, stride: number, padding: Padding): Map3 {
  const [C, , KH, KW] = p.shape;
  if (C !== x.c) throw new Error(`reference forward: depthwise conv expects ${C} channels, got ${x.c}`);
  const gy = geometry(x.h, KH, stride, padding), gx = geometry(x.w, KW, stride, padding);
  const OH = gy.out, OW = gx.out, H = x.h, W = x.w;
  const out = new Float64Array(C * OH * OW);
  for (let c = 0; c < C; c++) {
    const ob = c * OH * OW;
    out.fill(p.bias[c]!, ob, ob + OH * OW);
    for (let ky = 0; ky < KH; ky++) {
      for (let kx = 0; kx < KW; kx++) {
        const wv = p.weight[(c * KH + ky) * KW + kx]!;
        const [ox0, ox1] = colRange(W, OW, kx, stride, gx.before);
        for (let oy = 0; oy < OH; oy++) {
          const iy = oy * stride - gy.before + ky;
          if (iy < 0 || iy >= H) continue;
          const orow = ob + oy * OW, src = (c * H + iy) * W - gx.before + kx;
          for (let ox = ox0; ox <= ox1; ox++) out[orow + ox]! += wv * x.d[src + ox * stride]!;
        }
      }
    }
  }
  for (let j = 0; j < out.length; j++) out[j] = silu(out[j]!);
  return { c: C, h: OH, w: OW, d: out };
}

function squeezeExcite(x: Map3, reduce: ConvParams, expand: ConvParams): Map3 {
  const HW = x.h * x.w, C = x.c, R = reduce.shape[0];
  const pooled = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let q = 0; q < HW; q++) s += x.d[c * HW + q]!;
    pooled[c] = s / HW;
  }
  const r = new Float64Array(R);
  for (let j = 0; j < R; j++) {
    let s = reduce.bias[j]!;
    for (let c = 0; c < C; c++) s += reduce.weight[j * C + c]! * pooled[c]!;
    r[j] = silu(s);
  }
  const out = new Float64Array(x.d.length);
  for (let c = 0; c < C; c++) {
    let s = expand.bias[c]!;
    for (let j = 0; j < R; j++) s += expand.weight[c * R + j]! * r[j]!;
    const g = sigmoid(s);
    for (let q = 0; q < HW; q++) out[c * HW + q] = x.d[c * HW + q]! * g;
  }
  return { ...x, d: out };
}

function se(h: Map3, p: BlockParams, b: Parameters<ReferenceBlock>[2]): Map3 {
  if (b.seC === 0) return h;
  const { E, seC, at } = b;
  return squeezeExcite(h, expectShape(p.se?.reduce, [seC, E, 1, 1], `${at}.se.reduce`), expectShape(p.se?.expand, [E, seC, 1, 1], `${at}.se.expand`));
}

const BLOCKS: Record<string, ReferenceBlock> = {
  mbconv(x, p, b) {
    const { c, E, k, stride, padding, at } = b;
    let h = E !== c ? conv(x, expectShape(p.expand, [E, c, 1, 1], `${at}.expand`), 1, padding, true) : x;
    h = se(depthwise(h, expectShape(p.dw, [E, 1, k, k], `${at}.dw`), stride, padding), p, b);
    return conv(h, expectShape(p.project, [b.outC, E, 1, 1], `${at}.project`), 1, padding, false);
  },
  fused(x, p, b) {
    const { c, E, k, stride, padding, at } = b;
    if (E === c) return conv(x, expectShape(p.project, [b.outC, c, k, k], `${at}.project`), stride, padding, true);
    const h = se(conv(x, expectShape(p.expand, [E, c, k, k], `${at}.expand`), stride, padding, true), p, b);
    return conv(h, expectShape(p.project, [b.outC, E, 1, 1], `${at}.project`), 1, padding, false);
  },
};

/** The layer functions the built-in blocks are written with, for a test's own block kinds. */
export const referenceLayers = { conv, depthwise, squeezeExcite, expectShape };

function loadImage(input: ForwardInput, n: number, affine: ModelParams['inputAffine']): Map3 {
  const [, a, b, c] = input.shape;
  const [C, H, W] = input.layout === 'NCHW' ? [a, b, c] : [c, a, b];
  const d = new Float64Array(C * H * W), base = n * C * H * W;
  for (let ch = 0; ch < C; ch++) {
    const s = affine ? affine.scale[ch]! : 1, t = affine ? affine.shift[ch]! : 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const v = input.layout === 'NCHW' ? input.data[base + (ch * H + y) * W + x]! : input.data[base + (y * W + x) * C + ch]!;
        d[(ch * H + y) * W + x] = v * s + t;
      }
    }
  }
  return { c: C, h: H, w: W, d };
}

/** Runs the network on each selected image; see the file comment for the exact semantics. */
export function referenceForward(params: ModelParams, spec: ArchSpec, input: ForwardInput, opts: ForwardOptions = {}): ForwardResult {
  const padding = opts.padding ?? spec.padding;
  const images = opts.images ?? Array.from({ length: input.shape[0] }, (_, i) => i);
  const lastFeature = spec.stages.length + 1;
  const stopAt = opts.featureCount ?? lastFeature + 2; // beyond the head: run the classifier
  const keep = opts.keepFeatures || opts.featureCount !== undefined;
  const feats: Map3[][] = [];
  const logits: Float64Array[] = [];

  for (const n of images) {
    const f: Map3[] = [];
    const record = (m: Map3) => {
      if (keep) f.push(m);
      return f.length >= stopAt;
    };
    let x = conv(loadImage(input, n, params.inputAffine), expectShape(params.stem, [spec.stemC, 3, 3, 3], 'stem'), 2, padding, true);
    let done = record(x);
    let bi = 0, c = spec.stemC;
    for (let si = 0; si < spec.stages.length && !done; si++) {
      const row = spec.stages[si]!;
      for (let r = 0; r < row.repeats; r++, bi++) {
        const stride = r === 0 ? row.stride : 1, E = c * row.expand, k = row.kernel;
        const seC = row.se > 0 ? Math.max(1, Math.floor(c * row.se)) : 0;
        const p = params.blocks[bi];
        const at = `features.${si + 1}.${r}`;
        if (!p) throw new Error(`reference forward: no parameters for block ${bi} (${at})`);
        const block = opts.blocks?.[row.block] ?? BLOCKS[row.block];
        if (!block) throw new Error(`reference forward: no reference for block kind '${row.block}'`);
        const h = block(x, p, { c, E, outC: row.outC, k, stride, seC, padding, at });
        if (stride === 1 && c === row.outC) for (let j = 0; j < h.d.length; j++) h.d[j]! += x.d[j]!;
        x = h;
        c = row.outC;
      }
      done = record(x);
    }
    if (bi !== params.blocks.length && !done) throw new Error(`reference forward: params have ${params.blocks.length} blocks, the spec ${bi}`);
    if (!done) {
      x = conv(x, expectShape(params.head, [spec.headC, c, 1, 1], 'head'), 1, padding, true);
      done = record(x);
    }
    if (!done) {
      const [classes, inC] = params.classifier.shape;
      if (inC !== x.c) throw new Error(`reference forward: classifier expects ${inC} features, head gives ${x.c}`);
      const HW = x.h * x.w, pooled = new Float64Array(x.c), out = new Float64Array(classes);
      for (let ch = 0; ch < x.c; ch++) {
        let s = 0;
        for (let q = 0; q < HW; q++) s += x.d[ch * HW + q]!;
        pooled[ch] = s / HW;
      }
      for (let o = 0; o < classes; o++) {
        let s = params.classifier.bias[o]!;
        for (let i = 0; i < inC; i++) s += params.classifier.weight[o * inC + i]! * pooled[i]!;
        out[o] = s;
      }
      logits.push(out);
    }
    feats.push(f);
  }

  const stack = (maps: Map3[]): Tensor => {
    const m0 = maps[0]!, size = m0.d.length, data = new Float64Array(size * maps.length);
    maps.forEach((m, i) => data.set(m.d, i * size));
    return { data, shape: [maps.length, m0.c, m0.h, m0.w] };
  };
  const features = keep ? feats[0]!.map((_, i) => stack(feats.map((f) => f[i]!))) : [];
  if (logits.length === 0) return { features };
  const classes = logits[0]!.length, data = new Float64Array(classes * logits.length);
  logits.forEach((l, i) => data.set(l, i * classes));
  return { logits: { data, shape: [logits.length, classes] }, features };
}

/** Row-wise softmax of [n, classes] logits, in float64. */
export function softmax(logits: Tensor): Float64Array {
  const [n, k] = logits.shape as [number, number];
  const out = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits.data[r * k + j]!);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += out[r * k + j] = Math.exp(logits.data[r * k + j]! - max);
    for (let j = 0; j < k; j++) out[r * k + j]! /= sum;
  }
  return out;
}
