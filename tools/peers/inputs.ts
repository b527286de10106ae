/**
 * The deterministic input every engine of one comparison gets: real photos (the 16 ImageNet samples the
 * TF.js reference was made from, `input` of tfjs_b0.io.safetensors in the fixtures folder, NHWC in [0,1] at
 * 224²), cycled to fill the batch and resized on the CPU to the benchmarked resolution. Photos rather
 * than noise so that the TF-Hub model's probabilities are peaked and their agreement means something.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseSafetensors } from '../../src/safetensors.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../../src/kernels/preprocess.js';

export interface Photos {
  data: Float32Array;
  count: number;
  size: number;
}

export async function loadPhotos(fixtures: string): Promise<Photos> {
  const path = join(fixtures, 'tfjs_b0.io.safetensors');
  const input = parseSafetensors(new Uint8Array(await readFile(path)), { source: path }).get('input');
  const [count, size] = input.shape as [number, number, number, number];
  return { data: input.f32(), count, size };
}

/** [batch, res, res, 3] in [0,1]: photo i % count, bilinear with half-pixel centres (edges clamped). */
export function photoBatchNhwc(p: Photos, batch: number, res: number): Float32Array {
  const out = new Float32Array(batch * res * res * 3);
  const scale = p.size / res;
  const tap = (x: number) => Math.min(p.size - 1, Math.max(0, x));
  for (let n = 0; n < batch; n++) {
    const src = (n % p.count) * p.size * p.size * 3;
    for (let y = 0; y < res; y++) {
      const sy = (y + 0.5) * scale - 0.5;
      const y0 = Math.floor(sy);
      const fy = sy - y0;
      const [ya, yb] = [tap(y0), tap(y0 + 1)];
      for (let x = 0; x < res; x++) {
        const sx = (x + 0.5) * scale - 0.5;
        const x0 = Math.floor(sx);
        const fx = sx - x0;
        const [xa, xb] = [tap(x0), tap(x0 + 1)];
        for (let c = 0; c < 3; c++) {
          const at = (yy: number, xx: number) => p.data[src + (yy * p.size + xx) * 3 + c]!;
          const top = at(ya, xa) * (1 - fx) + at(ya, xb) * fx;
          const bottom = at(yb, xa) * (1 - fx) + at(yb, xb) * fx;
          out[((n * res + y) * res + x) * 3 + c] = top * (1 - fy) + bottom * fy;
        }
      }
    }
  }
  return out;
}

/** The same photos as torchvision models take them: NCHW, normalised with the ImageNet mean and std. */
export function torchvisionNchw(nhwc: Float32Array, batch: number, res: number): Float32Array {
  const out = new Float32Array(nhwc.length);
  const plane = res * res;
  for (let n = 0; n < batch; n++)
    for (let i = 0; i < plane; i++)
      for (let c = 0; c < 3; c++) out[(n * 3 + c) * plane + i] = (nhwc[(n * plane + i) * 3 + c]! - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!;
  return out;
}

/** The same normalised photos, NHWC: what the TFLite files (LiteRT's layout) take. */
export function torchvisionNhwc(nhwc: Float32Array): Float32Array {
  const out = new Float32Array(nhwc.length);
  for (let i = 0; i < nhwc.length; i++) out[i] = (nhwc[i]! - IMAGENET_MEAN[i % 3]!) / IMAGENET_STD[i % 3]!;
  return out;
}
