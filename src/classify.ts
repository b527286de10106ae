/**
 * Images → top-k labels. Decoded RGBA images are uploaded as-is; the preprocessing kernel crops,
 * resizes and normalises each straight into the network's input buffer, in the same command buffer as
 * the network and its softmax, so a batch of images costs one submit.
 */
import { createBuffer } from './buffers.js';
import { EffnetError } from './errors.js';
import type { DecodedImage } from './image/decode.js';
import { encodeDispatch } from './kernels/launch.js';
import { presetLaunch, type PreprocessPreset } from './kernels/preprocess.js';
import { topK, type TopEntry } from './kernels/softmax.js';
import type { Model } from './runtime/model.js';
import type { StageTime } from './runtime/timing.js';

export interface Prediction extends TopEntry {
  label: string;
}

export interface ClassifyOptions {
  preset: PreprocessPreset;
  /** How many classes to return per image (default 5). */
  top?: number;
  /** Class names by index; missing ones print as `class N`. */
  labels?: readonly string[];
  /** Input size (default: the model's resolution). */
  size?: number;
  /** GPU time of each pass of this very submit (preprocessing, stem, stages, head), when timestamp-query exists. */
  timed?: boolean;
}

export interface Classification {
  /** Per image, best first. */
  predictions: Prediction[][];
  /** Per-pass GPU times (`timed` and timestamp-query only), preprocessing first. */
  stages?: StageTime[];
  /** Upload to read-back, as the caller sees it (includes pipeline compilation on a first run). */
  wallMs: number;
}

export async function classifyImages(model: Model, images: readonly DecodedImage[], opts: ClassifyOptions): Promise<Prediction[][]> {
  return (await classify(model, images, opts)).predictions;
}

/** One image's outcome in `classifyEach`: its predictions, or the error it alone caused. */
export type ImageOutcome = { top: Prediction[] } | { error: string };

/**
 * classifyImages for a batch in which an image may be bad (decoded, but more than the GPU takes): a batch
 * that fails is run again image by image, so one image never costs the others their results.
 */
export async function classifyEach(model: Model, images: readonly DecodedImage[], opts: ClassifyOptions): Promise<ImageOutcome[]> {
  try {
    return (await classifyImages(model, images, opts)).map((top) => ({ top }));
  } catch {
    const out: ImageOutcome[] = [];
    for (const image of images) {
      try {
        out.push({ top: (await classifyImages(model, [image], opts))[0]! });
      } catch (e) {
        out.push({ error: (e as Error).message });
      }
    }
    return out;
  }
}

/** classifyImages, plus how long it took and (with `timed`) where the GPU time went. */
export async function classify(model: Model, images: readonly DecodedImage[], opts: ClassifyOptions): Promise<Classification> {
  const t0 = performance.now();
  if (images.length === 0) return { predictions: [], wallMs: 0 };
  const size = opts.size ?? model.spec.resolution;
  const batch = images.length;
  const { device } = model.gpu;
  const launches = images.map((img, n) => {
    if (!(img.width > 0 && img.height > 0) || img.rgba.length !== img.width * img.height * 4) {
      throw new EffnetError('INPUT', `image ${n}: expected ${img.width}×${img.height} RGBA pixels, got ${img.rgba.length} bytes`);
    }
    return presetLaunch(opts.preset, { srcW: img.width, srcH: img.height, size, n, batch, layout: 'nhwc' });
  });
  const temporaries: GPUBuffer[] = [];
  try {
    const pipeline = await model.lib.pipeline('preprocess', launches[0]!.overrides);
    const bindGroups = images.map((img, n) => {
      const src = createBuffer(device, { label: `image${n}`, bytes: img.rgba.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, data: img.rgba });
      temporaries.push(src);
      const params = model.lib.uniformBuffer('preprocess', launches[n]!.uniforms, `image${n}`);
      temporaries.push(params);
      return { src, params };
    });
    const run = await model.runOnGpuInput(
      { batch, height: size, width: size, layout: 'nhwc' },
      (enc, input, timestampWrites) => {
        const pass = enc.beginComputePass({ label: 'preprocess', ...(timestampWrites ? { timestampWrites } : {}) });
        bindGroups.forEach(({ src, params }, n) => {
          encodeDispatch(pass, { pipeline, bindGroup: model.lib.bindGroup('preprocess', { params, src, y: input }), grid: model.lib.grid(launches[n]!.workgroups) });
        });
        pass.end();
      },
      { probabilities: true, timed: opts.timed, fillName: 'preprocess' },
    );
    const k = model.classes;
    const predictions = images.map((_, n) =>
      topK(run.output.subarray(n * k, (n + 1) * k), opts.top ?? 5).map((t) => ({ ...t, label: opts.labels?.[t.index] ?? `class ${t.index}` })),
    );
    return { predictions, ...(run.stages ? { stages: run.stages } : {}), wallMs: performance.now() - t0 };
  } finally {
    for (const b of temporaries) b.destroy();
  }
}
