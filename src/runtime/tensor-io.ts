/**
 * The tensors that cross the public API: a caller's input, checked before any GPU work so that bad input is a
 * named error and never a wrong answer, and the engine's storage (NHWC with channels padded to 4, class rows
 * padded to 4) turned back into the dense arrays callers get.
 */
import { EffnetError } from '../errors.js';
import type { BuiltGraph, InputLayout } from './builder.js';
import type { TensorSpec } from './graph.js';
import type { InputTensor, StageDump } from './model-types.js';

/** An input that passed every check, with the shape the schedule is planned for. */
export interface CheckedInput {
  data: Float32Array;
  batch: number;
  height: number;
  width: number;
  layout: InputLayout;
}

export const engineLayout = (layout: 'NCHW' | 'NHWC' = 'NCHW'): InputLayout => (layout === 'NCHW' ? 'nchw' : 'nhwc');

/** A bare Float32Array is N images of 3×`resolution`×`resolution` in NCHW, N inferred from its length. */
export function checkInput(input: Float32Array | InputTensor, resolution: number): CheckedInput {
  const t: InputTensor = input instanceof Float32Array ? { data: input, shape: [] } : input;
  if (!(t.data instanceof Float32Array)) {
    throw new EffnetError('INPUT', `input must be a Float32Array, got ${Object.prototype.toString.call(t.data).slice(8, -1)}`);
  }
  const layout = t.layout ?? 'NCHW';
  if (layout !== 'NCHW' && layout !== 'NHWC') throw new EffnetError('INPUT', `input layout must be 'NCHW' or 'NHWC', got '${String(layout)}'`);
  let shape = [...t.shape];
  if (shape.length === 0) {
    const per = 3 * resolution * resolution;
    if (t.data.length === 0 || t.data.length % per !== 0) {
      throw new EffnetError('INPUT', `input has ${t.data.length} values, not a whole number of 3×${resolution}×${resolution} images (pass {data, shape} for other sizes)`);
    }
    shape = layout === 'NCHW' ? [t.data.length / per, 3, resolution, resolution] : [t.data.length / per, resolution, resolution, 3];
  }
  if (shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new EffnetError('INPUT', `input shape must be 4 positive integers, got [${shape.join(', ')}]`);
  }
  const [n, a, b, c] = shape as [number, number, number, number];
  const [ch, h, w] = layout === 'NCHW' ? [a, b, c] : [c, a, b];
  if (ch !== 3) throw new EffnetError('INPUT', `input must have 3 channels (RGB), got shape [${shape.join(', ')}] as ${layout}`);
  if (t.data.length !== n * 3 * h * w) {
    throw new EffnetError('INPUT', `input shape [${shape.join(', ')}] needs ${n * 3 * h * w} values, got ${t.data.length}`);
  }
  if (h < 8 || w < 8) throw new EffnetError('INPUT', `input of ${h}×${w} is too small for EfficientNet (at least 8×8; it downsamples 32×)`);
  for (let i = 0; i < t.data.length; i++) {
    if (!Number.isFinite(t.data[i]!)) throw new EffnetError('INPUT', `input contains ${t.data[i]} at index ${i}; all values must be finite`);
  }
  return { data: t.data, batch: n, height: h, width: w, layout: engineLayout(layout) };
}

/** The output rows are stored with the class axis padded to 4; return dense [N, classes]. */
export function denseRows(view: Float32Array, t: TensorSpec['shape']): Float32Array {
  const k4 = t.c4 * 4;
  const out = new Float32Array(t.n * t.c);
  for (let n = 0; n < t.n; n++) out.set(view.subarray(n * k4, n * k4 + t.c), n * t.c);
  return out;
}

/** The stage outputs of `built` as read back (`raw`, in `stageOutputs` order), dense NCHW. */
export function stageDumps(built: BuiltGraph, raw: Float32Array[]): StageDump[] {
  return built.stageOutputs.map((s, i) => {
    const t = built.tensors[s.tensor]!.shape;
    return { name: s.name, data: nhwc4ToNchw(raw[i]!, t), shape: [t.n, t.c, t.h, t.w] };
  });
}

/** NHWC with C padded to a multiple of 4 (how activations are stored) → dense NCHW (how torchvision dumps them). */
function nhwc4ToNchw(x: Float32Array, t: TensorSpec['shape']): Float32Array {
  const { n, h, w, c } = t;
  const c4 = Math.ceil(c / 4) * 4;
  const out = new Float32Array(n * c * h * w);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++) {
        const src = ((b * h + y) * w + xx) * c4;
        for (let ch = 0; ch < c; ch++) out[((b * c + ch) * h + y) * w + xx] = x[src + ch]!;
      }
  return out;
}
