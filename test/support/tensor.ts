/** Test tensors: seeded random data and the engine's activation layout (NHWC, C padded to 4 with zeros). */
import { seededUniform } from '../../src/prng.js';

/** Uniform in [0, 1) from the engine's seeded PRNG, so every case is reproducible in Node and in the browser. */
export const rng = seededUniform;

/** Uniform values in [-scale, scale), rounded to f32 so CPU and GPU see identical inputs. */
export function randomF32(n: number, seed: number, scale = 1): Float32Array {
  const r = seededUniform(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 2 - 1) * scale;
  return out;
}

export const pad4 = (c: number) => Math.ceil(c / 4) * 4;

/** Dense NHWC [N,H,W,C] → NHWC with C padded to a multiple of 4 (zeros in the padding). */
export function toNHWC4(x: ArrayLike<number>, n: number, h: number, w: number, c: number): Float32Array {
  const c4 = pad4(c);
  const out = new Float32Array(n * h * w * c4);
  for (let p = 0; p < n * h * w; p++) for (let ch = 0; ch < c; ch++) out[p * c4 + ch] = x[p * c + ch]!;
  return out;
}

/** NHWC with C padded to 4 → dense NHWC (drops the padding). */
export function fromNHWC4(x: ArrayLike<number>, n: number, h: number, w: number, c: number): Float32Array {
  const c4 = pad4(c);
  const out = new Float32Array(n * h * w * c);
  for (let p = 0; p < n * h * w; p++) for (let ch = 0; ch < c; ch++) out[p * c + ch] = x[p * c4 + ch]!;
  return out;
}

/** The padding channels of an NHWC4 tensor; kernels must leave them exactly zero. */
export function paddingValues(x: ArrayLike<number>, pixels: number, c: number): number[] {
  const c4 = pad4(c);
  const out: number[] = [];
  for (let p = 0; p < pixels; p++) for (let ch = c; ch < c4; ch++) out.push(x[p * c4 + ch]!);
  return out;
}
