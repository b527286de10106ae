/**
 * The tensors that cross the public API: a caller's input, checked before any GPU work so that bad input is a
 * named error and never a wrong answer, and the engine's storage (NHWC with channels padded to 4, class rows
 * padded to 4) turned back into the dense arrays callers get.
 */
import { EffnetError } from '../errors.js';
import type { BuiltGraph, InputLayout } from './builder.js';
import type { TensorSpec } from './graph.js';
import type { GpuInputTensor, StageDump } from './model-types.js';
import type * as web from '../platform-types.js';

/**
 * A caller's input whose shape passed every check, with its data not yet copied: the shape is all the device
 * limits are decided from (the model's #checkLimits), so an input too large to run is refused before a copy of it
 * is made.
 */
export interface ShapedInput {
  data: Float32Array;
  batch: number;
  height: number;
  width: number;
  layout: InputLayout;
}

export const engineLayout = (layout: 'NCHW' | 'NHWC' = 'NCHW'): InputLayout => (layout === 'NCHW' ? 'nchw' : 'nhwc');

/** A bare Float32Array is N images of 3×`resolution`×`resolution` in NCHW, N inferred from its length. */
export function shapeInput(input: unknown, resolution: number): ShapedInput {
  const t = asTensor(input);
  const layout = t.layout ?? 'NCHW';
  if (layout !== 'NCHW' && layout !== 'NHWC') throw new EffnetError('INPUT', `input layout must be 'NCHW' or 'NHWC', got ${describe(layout)}`);
  let shape: number[];
  if (input instanceof Float32Array) {
    const per = 3 * resolution * resolution;
    const len = input.length;
    if (len === 0 || len % per !== 0) {
      throw new EffnetError('INPUT', `input has ${len} values, not a whole number of 3×${resolution}×${resolution} images (pass {data, shape} for other sizes)`);
    }
    shape = layout === 'NCHW' ? [len / per, 3, resolution, resolution] : [len / per, resolution, resolution, 3];
  } else if (Array.isArray(t.shape)) {
    shape = [...(t.shape as unknown[])] as number[];
  } else {
    throw new EffnetError('INPUT', `input shape must be [N, 3, H, W] (NCHW) or [N, H, W, 3] (NHWC), got ${describe(t.shape)}; a bare Float32Array takes the model's resolution`);
  }
  const { n, h, w } = dims(shape, layout);
  if (t.data.length !== n * 3 * h * w) {
    throw new EffnetError('INPUT', `input shape [${shape.join(', ')}] needs ${n * 3 * h * w} values, got ${t.data.length}`);
  }
  if (h < 8 || w < 8) throw new EffnetError('INPUT', `input of ${h}×${w} is too small for EfficientNet (at least 8×8; it downsamples 32×)`);
  return { data: t.data, batch: n, height: h, width: w, layout: engineLayout(layout) };
}

/**
 * A copy of the caller's data, checked finite on the copy. It is made at call time: the upload happens later in
 * the model's serial queue, so a caller mutating its array after `run` returns its promise must not change (or
 * poison) that run; the copy also turns a SharedArrayBuffer-backed array into one WebGPU can upload.
 */
export function copyInput(input: Float32Array): Float32Array {
  const data = new Float32Array(input);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw new EffnetError('INPUT', `input contains ${data[i]} at index ${i}; all values must be finite`);
  }
  return data;
}

/** N, H, W of a 4-D RGB shape in `layout`, or an INPUT error naming what is wrong with it. */
function dims(shape: number[], layout: 'NCHW' | 'NHWC'): { n: number; h: number; w: number } {
  if (shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new EffnetError('INPUT', `input shape must be 4 positive integers, got [${shape.map(describe).join(', ')}]`);
  }
  const [n, a, b, c] = shape as [number, number, number, number];
  const [ch, h, w] = layout === 'NCHW' ? [a, b, c] : [c, a, b];
  if (ch !== 3) throw new EffnetError('INPUT', `input must have 3 channels (RGB), got shape [${shape.join(', ')}] as ${layout}`);
  return { n, h, w };
}

/** `run`'s argument is a GpuInputTensor: an object with a `buffer` (checked by checkGpuInput). */
export const isGpuInput = (input: unknown): input is GpuInputTensor =>
  typeof input === 'object' && input !== null && !ArrayBuffer.isView(input) && 'buffer' in input;

/** What a checked GPU input gives `run`: commands copying it into the network's input, and the shape. */
export interface CheckedGpuInput {
  data: (enc: web.GPUCommandEncoder, input: web.GPUBuffer) => void;
  batch: number;
  height: number;
  width: number;
  layout: InputLayout;
}

/** A buffer's usage flags by name (`COPY_DST | STORAGE`), for messages. */
const usageNames = (usage: number): string =>
  (['MAP_READ', 'MAP_WRITE', 'COPY_SRC', 'COPY_DST', 'INDEX', 'VERTEX', 'UNIFORM', 'STORAGE', 'INDIRECT', 'QUERY_RESOLVE'] as const)
    .filter((name) => usage & GPUBufferUsage[name])
    .join(' | ') || 'none';

/**
 * A GpuInputTensor checked before any GPU work: its shape as shapeInput checks it, and its buffer — a GPUBuffer,
 * not mapped, with COPY_SRC (the run copies it into the network's input), large enough, and of `device` — each
 * refusal an INPUT error naming what was given. The device is tested by recording the run's copy on a command
 * encoder that is never submitted: WebGPU has no other way to ask which device a buffer belongs to.
 */
/**
 * Buffers already probed, by device: a buffer belongs to one device for its life, so an app feeding the same input
 * buffer every frame pays the probe (a command encoder and an error-scope round trip) once, not per run.
 */
const deviceOf = new WeakMap<GPUBuffer, GPUDevice>();

export async function checkGpuInput(input: GpuInputTensor, device: web.GPUDevice): Promise<CheckedGpuInput> {
  const { buffer } = input;
  const isBuffer = typeof buffer === 'object' && buffer !== null && typeof (buffer as Partial<GPUBuffer>).mapState === 'string' && typeof (buffer as Partial<GPUBuffer>).usage === 'number';
  if (!isBuffer) throw new EffnetError('INPUT', `input buffer must be a GPUBuffer, got ${describe(buffer)}`);
  const layout = input.layout ?? 'NCHW';
  if (layout !== 'NCHW' && layout !== 'NHWC') throw new EffnetError('INPUT', `input layout must be 'NCHW' or 'NHWC', got ${describe(layout)}`);
  if (!Array.isArray(input.shape)) throw new EffnetError('INPUT', `input shape must be [N, 3, H, W] (NCHW) or [N, H, W, 3] (NHWC), got ${describe(input.shape)}`);
  const shape = [...(input.shape as unknown[])] as number[];
  const { n, h, w } = dims(shape, layout);
  if (h < 8 || w < 8) throw new EffnetError('INPUT', `input of ${h}×${w} is too small for EfficientNet (at least 8×8; it downsamples 32×)`);
  const what = `input buffer${buffer.label ? ` '${buffer.label}'` : ''}`;
  const bytes = n * 3 * h * w * 4;
  if (buffer.size < bytes) throw new EffnetError('INPUT', `${what} holds ${buffer.size} bytes; shape [${shape.join(', ')}] as dense float32 needs ${bytes}`);
  if (!(buffer.usage & GPUBufferUsage.COPY_SRC)) {
    throw new EffnetError('INPUT', `${what} needs GPUBufferUsage.COPY_SRC (the run copies it into the network); its usage is ${usageNames(buffer.usage)}`);
  }
  if (buffer.mapState !== 'unmapped') throw new EffnetError('INPUT', `${what} is ${buffer.mapState}: unmap it before running`);
  const copy = (enc: GPUCommandEncoder, dst: GPUBuffer) => enc.copyBufferToBuffer(buffer, 0, dst, 0, bytes);
  if (deviceOf.get(buffer) !== device) {
    // 4 bytes are enough to make WebGPU check the buffer's device.
    const probe = device.createBuffer({ label: 'input-device-probe', size: 16, usage: GPUBufferUsage.COPY_DST });
    try {
      device.pushErrorScope('validation');
      const enc = device.createCommandEncoder({ label: 'input-device-probe' });
      enc.copyBufferToBuffer(buffer, 0, probe, 0, 4);
      enc.finish();
      const err = await device.popErrorScope();
      if (err) throw new EffnetError('INPUT', `${what} cannot be used by this model: it must be a buffer of the model's device (model.gpu.device); WebGPU says: ${err.message}`);
    } finally {
      probe.destroy();
    }
    deviceOf.set(buffer, device);
  }
  return { data: copy, batch: n, height: h, width: w, layout: engineLayout(layout) };
}

/** The caller's argument as {data, shape, layout}, or an INPUT error saying what it was instead. */
function asTensor(input: unknown): { data: Float32Array; shape?: unknown; layout?: unknown } {
  if (input instanceof Float32Array) return { data: input };
  if (typeof input !== 'object' || input === null || ArrayBuffer.isView(input) || Array.isArray(input)) {
    throw new EffnetError('INPUT', `input must be a Float32Array or {data: Float32Array, shape}, got ${describe(input)}`);
  }
  const t = input as { data?: unknown; shape?: unknown; layout?: unknown };
  if (!(t.data instanceof Float32Array)) throw new EffnetError('INPUT', `input data must be a Float32Array, got ${describe(t.data)}`);
  return { data: t.data, shape: t.shape, layout: t.layout };
}

/** What a value is, for messages: its class for objects (Float64Array, Array, SharedArrayBuffer), else its value. */
function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v !== 'object' && typeof v !== 'function') return String(v);
  return Object.prototype.toString.call(v).slice(8, -1);
}

/** The index and value of the first non-finite element of `x`, if any. */
export function firstNonFinite(x: Float32Array): { index: number; value: number } | undefined {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) return { index: i, value: x[i]! };
  return undefined;
}

/**
 * The NUMERIC error for a non-finite output (`bad`, from firstNonFinite), naming the first of `stages` (dense
 * stage outputs of the same input) that holds a non-finite value: where float32 overflowed.
 */
export function nonFiniteError(what: 'logits' | 'probabilities', bad: { index: number; value: number }, stages: StageDump[]): EffnetError {
  const first = stages.find((st) => firstNonFinite(st.data));
  const where = first
    ? `the first non-finite stage output is ${first.name}`
    : `every stage output is finite, so the head or classifier overflowed`;
  return new EffnetError('NUMERIC', `${what} are non-finite (${bad.value} at index ${bad.index}); ${where} (weights or input too large for float32)`);
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
