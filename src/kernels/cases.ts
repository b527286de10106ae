/**
 * One launch of a kernel as test data: seeded inputs made from the launch's uniforms (dense, in torchvision
 * layouts), packed into the buffers the kernel binds by the engine's own packers, and the float64 CPU reference
 * of the outputs (src/reference/) in the layout the kernel writes. Every channel lane is a real channel
 * (C = 4·C4): uniforms carry padded counts, and so the layouts have no padding to keep zero. `effnet
 * kernel-bench` checks a user's kernel with these cases at the model's shapes, and the on-device self-test
 * (src/runtime/self-test.ts) checks each of our compiled variants with one at a small shape.
 */
import { EffnetError } from '../errors.js';
import { packDwconv } from './dwconv.js';
import { packFusedConv } from './fused_conv.js';
import { packPointwise } from './pointwise.js';
import { packSe } from './se.js';
import { packStem } from './stem.js';
import { convRef } from '../reference/conv.js';
import { dwconvRef, padGeometry, type Padding } from '../reference/dwconv.js';
import { pointwiseRef } from '../reference/pointwise.js';
import { avgPoolRef, softmaxRef } from '../reference/pool.js';
import { channelMeans, seRef } from '../reference/se.js';
import { TOL, type Tolerance } from '../reference/tolerances.js';
import type { Overrides } from './library.js';
import type { UniformValues } from './reflect.js';

/** The kinds of computation a case can describe; sibling kernels (a `_tiled`, `_subgroup` or compact one) share one. */
export type CaseFamily = 'dwconv' | 'pointwise' | 'fused_conv' | 'stem' | 'se_excite' | 'pool' | 'softmax';

/** Which family each scheduled kernel computes (the reference path's silu, add and channel_scale have their own tests). */
export const KERNEL_FAMILY: Readonly<Record<string, CaseFamily>> = {
  dwconv: 'dwconv',
  dwconv_compact: 'dwconv',
  pointwise: 'pointwise',
  pointwise_tiled: 'pointwise',
  fused_conv: 'fused_conv',
  fused_conv_tiled: 'fused_conv',
  stem: 'stem',
  se_excite: 'se_excite',
  pool: 'pool',
  pool_subgroup: 'pool',
  softmax: 'softmax',
};

/** One output the case checks: the values read from binding `binding`, reduced by `got`, against `want`. */
export interface CaseOutput {
  label: string;
  binding: string;
  got(read: Float32Array): ArrayLike<number>;
  want: Float64Array;
  tol: Tolerance;
}

export interface ShapeCase {
  /** Storage bindings: data to upload, or a byte size for an output that starts zeroed. */
  buffers: Record<string, Float32Array | number>;
  outputs: CaseOutput[];
}

/** mulberry32: seeded, so a case is the same data in Node and in Chromium. */
export function random(n: number, seed: number, lo: number, hi: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

const num = (u: UniformValues, k: string): number => u[k] as number;
const same = (): ((r: Float32Array) => Float32Array) => (r) => r;

/** Which padding rule produced (out, before) for a k×k stride-s conv over `size` (the reference recomputes it). */
export function paddingOf(size: number, k: number, s: number, out: number, before: number): Padding {
  for (const p of ['symmetric', 'same'] as const) {
    const g = padGeometry(size, k, s, p);
    if (g.out === out && g.before === before) return p;
  }
  throw new EffnetError('INPUT', `no padding rule gives ${out} outputs with ${before} before for size ${size}, k ${k}, stride ${s}`);
}

/** Overrides as numbers (booleans arrive as 0/1). */
type Flags = Readonly<Record<string, number>>;

/**
 * The case of one launch of `kernel`: its uniforms and overrides as the kernel takes them (dwconv_compact's
 * specialisation is in its uniforms).
 */
export function kernelCase(kernel: string, u: UniformValues, o: Overrides, seed: number): ShapeCase {
  const family = KERNEL_FAMILY[kernel];
  if (!family) throw new EffnetError('KERNEL_REGISTRY', `kernel '${kernel}' has no test case family`);
  const flags = kernel === 'dwconv_compact' ? { ...o, K: u.K as number, S: u.S as number, TW: u.TW as number, SQUEEZE: u.squeeze as number } : o;
  return familyCase(family, u, flags, seed);
}

export function familyCase(op: CaseFamily, u: UniformValues, o: Flags, seed: number): ShapeCase {
  switch (op) {
    case 'dwconv': {
      const [H, W, C4, Ho, Wo] = ['H', 'W', 'C4', 'Ho', 'Wo'].map((k) => num(u, k)) as [number, number, number, number, number];
      const slots = num(u, 'rowBlocks') * num(u, 'strips');
      const N = num(u, 'count') / (slots * C4);
      const [C, k, s] = [4 * C4, o.K!, o.S!];
      const squeeze = o.SQUEEZE === 1;
      const x = random(N * H * W * C, seed, -2, 2);
      const weight = random(C * k * k, seed + 1, -1 / k, 1 / k);
      const bias = random(C, seed + 2, -0.5, 0.5);
      const padding = paddingOf(H, k, s, Ho, num(u, 'padTop'));
      const ref = dwconvRef(x, N, H, W, C, weight, bias, k, s, padding).y;
      const outputs: CaseOutput[] = [{ label: 'y', binding: 'y', got: same(), want: ref, tol: TOL.conv }];
      if (squeeze) {
        // se_excite adds the P slots of each (image, channel) up: that sum is what the squeeze must get right.
        const sums = channelMeans(ref, N, Ho * Wo, C).map((m) => m * Ho * Wo);
        const got = (r: Float32Array) => {
          const out = new Float64Array(N * C);
          for (let n = 0; n < N; n++) for (let p = 0; p < slots; p++) for (let c = 0; c < C; c++) out[n * C + c]! += r[(n * slots + p) * C + c]!;
          return out;
        };
        outputs.push({ label: 'part (squeeze sums)', binding: 'part', got, want: sums, tol: TOL.reduction });
      }
      const { w, b } = packDwconv(weight, bias, C, k);
      return { buffers: { x, w, b, y: N * Ho * Wo * C * 4, part: squeeze ? N * slots * C * 4 : 16 }, outputs };
    }
    case 'pointwise': {
      const [M, K4, N4, HW] = ['M', 'K4', 'N4', 'HW'].map((k) => num(u, k)) as [number, number, number, number];
      const [N, inC, outC] = [M / HW, 4 * K4, 4 * N4];
      const x = random(M * inC, seed, -2, 2);
      const weight = random(outC * inC, seed + 1, -1 / Math.sqrt(inC), 1 / Math.sqrt(inC));
      const bias = random(outC, seed + 2, -0.5, 0.5);
      const gate = o.SE_SCALE ? random(N * inC, seed + 3, 0, 1) : undefined;
      const res = o.HAS_RES ? random(M * outC, seed + 4, -1, 1) : undefined;
      const want = pointwiseRef({ N, HW, inC, outC, act: o.ACT === 1 ? 'silu' : 'none' }, x, weight, bias, gate, res);
      const { w, b } = packPointwise(weight, bias, inC, outC);
      return {
        buffers: { x, w, b, se: gate ?? 16, res: res ?? 16, y: M * outC * 4 },
        outputs: [{ label: 'y', binding: 'y', got: same(), want, tol: TOL.conv }],
      };
    }
    case 'fused_conv': {
      const [N, H, W, Cin4, Ho, Wo, Cout4, k, s] = ['N', 'H', 'W', 'Cin4', 'Ho', 'Wo', 'Cout4', 'K', 'stride'].map((f) => num(u, f)) as number[] as [number, number, number, number, number, number, number, number, number];
      const [inC, outC, padTop, padLeft] = [4 * Cin4, 4 * Cout4, num(u, 'padTop'), num(u, 'padLeft')];
      const x = random(N * H * W * inC, seed, -2, 2);
      const weight = random(outC * inC * k * k, seed + 1, -1 / (k * Math.sqrt(inC)), 1 / (k * Math.sqrt(inC)));
      const bias = random(outC, seed + 2, -0.5, 0.5);
      const res = o.HAS_RES ? random(N * Ho * Wo * outC, seed + 3, -1, 1) : undefined;
      const spec = {
        N, H, W, inC, outC, k, stride: s, padTop, padLeft,
        padBottom: (Ho - 1) * s + k - H - padTop, padRight: (Wo - 1) * s + k - W - padLeft, act: (o.ACT ?? 1) === 1 ? ('silu' as const) : ('none' as const),
      };
      const want = convRef(spec, x, weight, bias, res).y;
      const { w, b } = packFusedConv(weight, bias, inC, outC, k);
      return { buffers: { x, w, b, res: res ?? 16, y: N * Ho * Wo * outC * 4 }, outputs: [{ label: 'y', binding: 'y', got: same(), want, tol: TOL.conv }] };
    }
    case 'stem': {
      const [N, H, W, Ho, Wo, Cout4, padTop, padLeft] = ['N', 'H', 'W', 'Ho', 'Wo', 'Cout4', 'padTop', 'padLeft'].map((f) => num(u, f)) as [number, number, number, number, number, number, number, number];
      const [sN, sC, sH, sW] = ['sN', 'sC', 'sH', 'sW'].map((f) => num(u, f)) as [number, number, number, number];
      const scale = u.inScale as readonly number[];
      const shift = u.inShift as readonly number[];
      const outC = 4 * Cout4;
      const x = random(N * 3 * H * W, seed, 0, 1);
      // The kernel reads element (n, c, h, w) at n·sN + c·sC + h·sH + w·sW and applies the affine to in-image
      // taps only: the reference convolves the affine image with zero padding.
      const dense = new Float64Array(N * H * W * 3);
      for (let n = 0; n < N; n++)
        for (let h = 0; h < H; h++)
          for (let w = 0; w < W; w++)
            for (let c = 0; c < 3; c++) dense[((n * H + h) * W + w) * 3 + c] = x[n * sN + c * sC + h * sH + w * sW]! * scale[c]! + shift[c]!;
      const weight = random(outC * 27, seed + 1, -0.3, 0.3);
      const bias = random(outC, seed + 2, -0.5, 0.5);
      const spec = { N, H, W, inC: 3, outC, k: 3, stride: 2, padTop, padLeft, padBottom: (Ho - 1) * 2 + 3 - H - padTop, padRight: (Wo - 1) * 2 + 3 - W - padLeft, act: 'silu' as const };
      const want = convRef(spec, dense, weight, bias).y;
      const { w, b } = packStem(weight, bias, outC);
      return { buffers: { x, w, b, y: N * Ho * Wo * outC * 4 }, outputs: [{ label: 'y', binding: 'y', got: same(), want, tol: TOL.conv }] };
    }
    case 'se_excite': {
      const [N, C, C4, seC4, P, HW] = ['N', 'C', 'C4', 'seC4', 'P', 'HW'].map((f) => num(u, f)) as [number, number, number, number, number, number];
      const seC = 4 * seC4;
      // Partial sums as a conv would write them: slot values around HW / P, so their sum / HW is order 1.
      const part = random(N * P * C4 * 4, seed, 0, (2 * HW) / P);
      for (let i = 0; i < part.length; i++) if (i % (4 * C4) >= C) part[i] = 0;
      const fc1w = random(seC * C, seed + 1, -1 / Math.sqrt(C), 1 / Math.sqrt(C));
      const fc1b = random(seC, seed + 2, -0.5, 0.5);
      const fc2w = random(C * seC, seed + 3, -1 / Math.sqrt(seC), 1 / Math.sqrt(seC));
      const fc2b = random(C, seed + 4, -0.5, 0.5);
      // seRef averages an activation over HW positions; P slots scaled by P / HW average to Σ part / HW.
      const scaled = new Float64Array(N * P * C);
      for (let n = 0; n < N; n++) for (let p = 0; p < P; p++) for (let c = 0; c < C; c++) scaled[(n * P + p) * C + c] = (part[(n * P + p) * C4 * 4 + c]! * P) / HW;
      const gate = seRef(scaled, N, P, C, seC, fc1w, fc1b, fc2w, fc2b);
      const want = new Float64Array(N * C4 * 4);
      for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) want[n * C4 * 4 + c] = gate[n * C + c]!;
      const { w1, b1, w2, b2 } = packSe(fc1w, fc1b, fc2w, fc2b, C, seC);
      return { buffers: { part, w1, b1, w2, b2, se: N * C4 * 16 }, outputs: [{ label: 'se', binding: 'se', got: same(), want, tol: TOL.reduction }] };
    }
    case 'pool': {
      const [count, C4, HW] = ['count', 'C4', 'HW'].map((f) => num(u, f)) as [number, number, number];
      const [N, C] = [count / C4, 4 * C4];
      const x = random(N * HW * C, seed, -2, 2);
      return { buffers: { x, y: N * C * 4 }, outputs: [{ label: 'y', binding: 'y', got: same(), want: avgPoolRef(x, N, HW, C), tol: TOL.reduction }] };
    }
    case 'softmax': {
      const [N, K, K4] = ['N', 'K', 'K4'].map((f) => num(u, f)) as [number, number, number];
      const logits = random(N * K, seed, -10, 10);
      // Rows of K4·4 lanes, the padding holding garbage the kernel must ignore; it writes 0 there.
      const x = new Float32Array(N * K4 * 4).fill(1e30);
      const want = new Float64Array(N * K4 * 4);
      const p = softmaxRef(logits, N, K);
      for (let n = 0; n < N; n++) {
        x.set(logits.subarray(n * K, (n + 1) * K), n * K4 * 4);
        want.set(p.subarray(n * K, (n + 1) * K), n * K4 * 4);
      }
      return { buffers: { x, y: N * K4 * 16 }, outputs: [{ label: 'y', binding: 'y', got: same(), want, tol: TOL.elementwise }] };
    }
  }
}
