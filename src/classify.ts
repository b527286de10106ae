/**
 * Images → top-k labels. Decoded RGBA images are uploaded as-is; browser images (ImageBitmap, <img>, canvas,
 * OffscreenCanvas, VideoFrame, <video>) are copied by the browser into a texture, with no CPU readback. The
 * preprocessing kernels (kernels/preprocess.wgsl from a buffer, preprocess_texture.wgsl from a texture; the
 * same floats from the same pixels) crop, resize and normalise each straight into the network's input buffer,
 * in the same command buffer as the network and its softmax, so a batch of images costs one submit. On the CPU
 * backend (`CpuModel`) browser images are read back through a 2D canvas instead and preprocessed by the float64
 * reference (`classifyOnCpu`).
 */
import { createBuffer } from './buffers.js';
import { EffnetError } from './errors.js';
import { decodeImage, readImageFile, type DecodedImage } from './image/decode.js';
import { checkGpuSource, copySourceToTexture, isGpuImageSource, type GpuImageSource } from './image/gpu.js';
import { readSourcePixels } from './image/pixels.js';
import { encodeDispatch } from './kernels/launch.js';
import { PREPROCESS_TFJS, PREPROCESS_TORCHVISION, presetLaunch, type PreprocessPreset } from './kernels/preprocess.js';
import { IMAGENET_CLASSES, torchvisionEval } from './pretrained.js';
import { topK, type TopEntry } from './kernels/softmax.js';
import type { Model } from './runtime/model.js';
import type { CpuModel } from './cpu/model.js';
import { preprocessRef } from './reference/preprocess.js';
import type { StageTime } from './runtime/timing.js';
import type * as web from './platform-types.js';

/**
 * An image file's bytes (JPEG or PNG; in a browser any format it decodes), or where to read it: in Node a path,
 * `file:` or http(s) URL, in a browser a URL — read by the engine's one reader (size caps, timeouts) and decoded.
 */
export type EncodedImage = Uint8Array | ArrayBuffer | string | web.URL;

/**
 * What classify takes: decoded RGBA8 pixels, an image the browser holds (copied to the GPU as it is), or an
 * encoded image (decoded first).
 */
export type ImageInput = DecodedImage | GpuImageSource | EncodedImage;

export interface Prediction extends TopEntry {
  label: string;
}

export interface ClassifyOptions {
  /**
   * How images are cropped, resized and normalised. Default: what the model's weights expect (`model.preprocess`:
   * PREPROCESS_TFJS for TF-Hub weights; for state dicts torchvision's eval transform of the architecture's official
   * weights — `pretrained(arch).preset` — else PREPROCESS_TORCHVISION). See `classifyPreset`.
   */
  preset?: PreprocessPreset;
  /** How many classes to return per image (default 5). */
  top?: number;
  /** Class names by index (default IMAGENET_CLASSES for a 1000-class model); missing ones print as `class N`. */
  labels?: readonly string[];
  /** Input size (default: the preset's, as torchvision's crop for its weights, else the model's resolution). */
  size?: number;
  /** GPU time of each pass of this very submit (preprocessing, stem, stages, head), when timestamp-query exists. */
  timed?: boolean;
  /** Refuse browser images with more pixels than this (default DEFAULT_MAX_PIXELS, as decodeImage). */
  maxPixels?: number;
}

export interface Classification {
  /** Per image, best first. */
  predictions: Prediction[][];
  /** Per-pass GPU times (`timed` and timestamp-query only), preprocessing first. */
  stages?: StageTime[];
  /** Upload to read-back, as the caller sees it (includes pipeline compilation on a first run). */
  wallMs: number;
}

export async function classifyImages(model: Model | CpuModel, images: readonly ImageInput[], opts: ClassifyOptions = {}): Promise<Prediction[][]> {
  return (await classify(model, images, opts)).predictions;
}

/** One image's outcome in `classifyEach`: its predictions, or the error it alone caused. */
export type ImageOutcome = { top: Prediction[] } | { error: string };

/**
 * classifyImages for a batch in which an image may be bad (decoded, but more than the GPU takes): a batch
 * that fails is run again image by image, so one image never costs the others their results.
 */
export async function classifyEach(model: Model | CpuModel, images: readonly ImageInput[], opts: ClassifyOptions = {}): Promise<ImageOutcome[]> {
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

/** One image as the preprocessing kernels take it: pixels in a buffer, or a browser image to copy to a texture. */
type Pixels = { source: 'buffer'; width: number; height: number; rgba: Uint8Array } | { source: 'texture'; width: number; height: number; image: GpuImageSource };

/** What a value is, for messages. */
const describe = (v: unknown): string => (v === null || typeof v !== 'object' ? String(v) : Object.prototype.toString.call(v).slice(8, -1));

/** Whether an input is an encoded image (bytes, a path or a URL) that must be read or decoded first. */
const isEncoded = (img: ImageInput): img is EncodedImage => typeof img === 'string' || img instanceof URL || img instanceof Uint8Array || img instanceof ArrayBuffer;

/** Encoded images decoded (files and URLs read first); decoded pixels and browser images as they are. */
function decoded(img: ImageInput, n: number, maxPixels: number | undefined): DecodedImage | GpuImageSource | Promise<DecodedImage> {
  const opts = maxPixels === undefined ? {} : { maxPixels };
  if (!isEncoded(img)) return img;
  if (typeof img === 'string' || img instanceof URL) return readImageFile(img, opts);
  if (img instanceof Uint8Array) return decodeImage(img, `image ${n}`, opts);
  return decodeImage(new Uint8Array(img), `image ${n}`, opts);
}

function pixelsOf(img: DecodedImage | GpuImageSource, n: number, device: GPUDevice, maxPixels: number | undefined): Pixels {
  if (isGpuImageSource(img)) return { source: 'texture', ...checkGpuSource(img, device, `image ${n}`, maxPixels), image: img };
  return bufferPixels(img, n);
}

/** Decoded RGBA8 pixels, checked: an INPUT error naming what image `n` is instead. */
function bufferPixels(img: unknown, n: number): Extract<Pixels, { source: 'buffer' }> {
  const d = img as Partial<DecodedImage> | null;
  if (typeof d !== 'object' || d === null || !(d.rgba instanceof Uint8Array)) {
    throw new EffnetError(
      'INPUT',
      `image ${n}: expected encoded image bytes (Uint8Array, ArrayBuffer), a path or URL, a DecodedImage {width, height, rgba: Uint8Array} or an ImageBitmap, HTMLImageElement, HTMLCanvasElement, OffscreenCanvas, VideoFrame or HTMLVideoElement, got ${describe(img)}`,
    );
  }
  const { width, height, rgba } = d as DecodedImage;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) || rgba.length !== width * height * 4) {
    throw new EffnetError('INPUT', `image ${n}: expected ${width}×${height} RGBA pixels, got ${rgba.length} bytes`);
  }
  return { source: 'buffer', width, height, rgba };
}

/**
 * The preprocessing classify uses by default: TF-Hub weights take PREPROCESS_TFJS; state dicts take torchvision's
 * eval transform for the architecture's official weights (B3: resize 320, crop 300, bicubic; V2-L: [-1, 1]
 * normalisation), or B0's (PREPROCESS_TORCHVISION) for an architecture torchvision has no weights for.
 */
export function classifyPreset(model: Pick<Model, 'preprocess' | 'spec'>): PreprocessPreset {
  if (model.preprocess === 'tfjs') return PREPROCESS_TFJS;
  return torchvisionEval(model.spec.name) ?? PREPROCESS_TORCHVISION;
}

/** The input size classify uses with `preset`: the size the weights were evaluated at, else the model's resolution. */
export const classifySize = (model: Pick<Model, 'preprocess' | 'spec'>, preset: PreprocessPreset = classifyPreset(model)): number => preset.size ?? model.spec.resolution;

/** classifyImages, plus how long it took and (with `timed`) where the GPU time went. */
export async function classify(model: Model | CpuModel, images: readonly ImageInput[], options: ClassifyOptions = {}): Promise<Classification> {
  const t0 = performance.now();
  if (typeof options !== 'object' || options === null) throw new EffnetError('INPUT', `classify options must be an object, got ${describe(options)}`);
  const preset = options.preset ?? classifyPreset(model);
  if (typeof preset?.crop !== 'function') {
    throw new EffnetError('INPUT', `classify's preset must be a PreprocessPreset (PREPROCESS_TFJS, PREPROCESS_TORCHVISION or torchvisionPreset(...)), got ${describe(preset)}`);
  }
  const labels = options.labels ?? (model.classes === IMAGENET_CLASSES.length ? IMAGENET_CLASSES : undefined);
  const opts = { ...options, preset, labels };
  if (!Array.isArray(images)) throw new EffnetError('INPUT', `classify takes an array of images, got ${describe(images)}`);
  if (images.length === 0) return { predictions: [], wallMs: 0 };
  const size = opts.size ?? classifySize(model, preset);
  const batch = images.length;
  if (!('gpu' in model)) return classifyOnCpu(model, images, { ...opts, size, t0 });
  const { device } = model.gpu;
  // Encoded images are read and decoded first (a browser image in the same batch is copied after that), then
  // every image is checked before anything is allocated or copied.
  const inputs = images.some(isEncoded)
    ? await Promise.all(images.map((img, n) => decoded(img, n, opts.maxPixels)))
    : (images as readonly (DecodedImage | GpuImageSource)[]);
  const pixels = inputs.map((img, n) => pixelsOf(img, n, device, opts.maxPixels));
  const launches = pixels.map((p, n) => presetLaunch(opts.preset, { srcW: p.width, srcH: p.height, size, n, batch, layout: 'nhwc', source: p.source }));
  const temporaries: { destroy(): void }[] = [];
  try {
    // Uploads and copies are queued first, at call time, before any await on compiles: a video is classified at
    // the frame it shows when classify is called.
    const bindGroups: ((y: GPUBuffer) => GPUBindGroup)[] = [];
    for (const [n, p] of pixels.entries()) {
      const { kernel, uniforms } = launches[n]!;
      const params = model.lib.uniformBuffer(kernel, uniforms, `image${n}`);
      temporaries.push(params);
      if (p.source === 'buffer') {
        const src = createBuffer(device, { label: `image${n}`, bytes: p.rgba.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, data: p.rgba });
        temporaries.push(src);
        bindGroups.push((y) => model.lib.bindGroup(kernel, { params, src, y }));
      } else {
        const texture = await copySourceToTexture(device, p.image, p, `image ${n}`);
        temporaries.push(texture);
        const view = texture.createView();
        bindGroups.push((y) => model.lib.bindGroup(kernel, { params, src: view, y }));
      }
    }
    // Per image: its overrides depend on its own size (an upscale skips the antialiasing loop) and source.
    const pipelines = await Promise.all(launches.map((l) => model.lib.pipeline(l.kernel, l.overrides)));
    const run = await model.runOnGpuInput(
      { batch, height: size, width: size, layout: 'nhwc' },
      (enc, input, timestampWrites) => {
        const pass = enc.beginComputePass({ label: 'preprocess', ...(timestampWrites ? { timestampWrites } : {}) });
        bindGroups.forEach((bindGroup, n) => {
          encodeDispatch(pass, { pipeline: pipelines[n]!, bindGroup: bindGroup(input), grid: model.lib.grid(launches[n]!.workgroups) });
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
    // After the run's read-back: the GPU is done with them.
    for (const b of temporaries) b.destroy();
  }
}

/**
 * classify on the CPU backend: browser images (ImageBitmap, <img>, canvas, OffscreenCanvas, VideoFrame, <video>)
 * read back through a 2D canvas at call time (image/pixels.ts: a video at the frame it shows then, as the GPU path
 * copies it; the same size checks and `maxPixels`), encoded images read and decoded; then each cropped, resized
 * and normalised by the float64 preprocessing reference (the definition the GPU kernels are tested against), into
 * one NHWC batch that the CPU runtime runs.
 */
async function classifyOnCpu(
  model: CpuModel,
  images: readonly ImageInput[],
  opts: ClassifyOptions & { preset: PreprocessPreset; labels: readonly string[] | undefined; size: number; t0: number },
): Promise<Classification> {
  // Every browser image is read before the first await (and before any file is read), so none changes meanwhile.
  const read = images.map((img, n) => (isGpuImageSource(img) ? readSourcePixels(img, `image ${n}`, opts.maxPixels) : img));
  const decodedImages = await Promise.all(read.map((img, n) => decoded(img, n, opts.maxPixels)));
  const { size, preset } = opts;
  const input = new Float32Array(images.length * size * size * 3);
  decodedImages.forEach((img, n) => {
    const p = bufferPixels(img, n);
    const hwc = preprocessRef({
      width: p.width, height: p.height, rgba: p.rgba, crop: preset.crop(p.width, p.height, size), outH: size, outW: size,
      mode: preset.mode, antialias: preset.antialias, edge: preset.edge, mean: preset.mean, std: preset.std,
    });
    input.set(hwc, n * size * size * 3);
  });
  const probs = await model.run({ data: input, shape: [images.length, size, size, 3], layout: 'NHWC' }, { probabilities: true });
  const k = model.classes;
  const predictions = images.map((_, n) =>
    topK(probs.subarray(n * k, (n + 1) * k), opts.top ?? 5).map((t) => ({ ...t, label: opts.labels?.[t.index] ?? `class ${t.index}` })),
  );
  return { predictions, wallMs: performance.now() - opts.t0 };
}
