/**
 * What a weights load takes and gives: the sources, the options, the resolved weights, and the ceiling on one
 * read. Here rather than in the loader, so every weights module (the engine's own file format included) can name
 * them without importing it.
 */
import type { ArchSpec } from '../model/tables.js';
import type { SafetensorsFile } from '../safetensors.js';
import type { ModelParams } from './params.js';
import type * as web from '../platform-types.js';

/**
 * The most bytes one weights read takes when the format declares no size (a PyTorch checkpoint, a TF.js shard of
 * a manifest with string weights, a stream whose head is neither): 1 GiB, unless `WeightOptions.maxBytes` says
 * otherwise. The largest checkpoint of this family fits with room: EfficientNetV2-XL with its ImageNet-21k head
 * (timm `tf_efficientnetv2_xl.in21k`, about 235 M parameters) is 0.94 GB in float32; torchvision's largest,
 * V2-L, is 0.47 GB, and B7 0.27 GB. An endless body, or one that lies about its kind, ends here with an IO error,
 * the read having held at most this.
 */
export const WEIGHTS_MAX_BYTES = 2 ** 30;

/** The most a size the format declares may be (a safetensors header's): what one typed array holds in Node 20. */
export const WEIGHTS_DECLARED_MAX_BYTES = 2 ** 32;

export type WeightFormat = 'torchvision' | 'timm' | 'efficientnet_pytorch' | 'effnetv2_dli14' | 'tfjs';

/**
 * Where weights come from. A path (Node), a `file:` URL (Node) or an http(s) URL (read as a stream, capped by the
 * size the format declares) may name a safetensors file, a PyTorch checkpoint or a TF.js model (directory or
 * model.json); bytes in memory (`ArrayBuffer`, `Uint8Array`, `Blob`, a fetch `Response`, a `ReadableStream` of
 * bytes) hold a state dict. TF.js graphs in memory, canonical `ModelParams` and 'random' need no reading.
 */
export type WeightsSource =
  | 'random'
  | string
  | web.URL
  | ArrayBuffer
  | Uint8Array
  | web.Blob
  | web.Response
  | web.ReadableByteStream
  | SafetensorsFile
  | { modelJson: object; weightData: ArrayBuffer }
  | ModelParams;

/** Bytes read so far, and the total when it is known (a file's size, a Content-Length, a manifest, a Blob). */
export interface LoadProgress {
  loaded: number;
  total?: number;
}

export interface WeightOptions {
  /** Force a format instead of detecting it. */
  format?: WeightFormat;
  /** timm model name (e.g. 'tf_efficientnet_b0'): picks padding and BN eps for timm files. */
  timmModel?: string;
  /** Seed for 'random'. */
  seed?: number;
  /** Called as weight bytes arrive, after each chunk read (a completed read's last call counts every byte). */
  onProgress?: (p: LoadProgress) => void;
  /** Aborts the read (and the load): the call rejects with an `ABORTED` EffnetError. */
  signal?: web.AbortSignal;
  /**
   * A URL or stream (`Response`, `ReadableStream`) that sends no byte for this long fails the read with an IO
   * error (default 30 000 ms; 0: no limit): the weights' (a TF.js model's JSON and shards included), and in
   * `loadModel` the tuning file's too.
   */
  timeoutMs?: number;
  /**
   * The most bytes a state dict read takes (a whole number, at most 4 GiB). Default: WEIGHTS_MAX_BYTES (1 GiB)
   * where the bytes declare no size (a PyTorch checkpoint), and the size a safetensors header declares, up to
   * 4 GiB, where they do. A larger file, body or stream is refused with an IO error, before it is read when its
   * size is known.
   */
  maxBytes?: number;
}

export type WeightsPreprocess = 'tfjs' | 'torchvision';

export interface ResolvedWeights {
  spec: ArchSpec;
  params: ModelParams;
  /** 'effnet': the engine's own file (`effnet export-weights`, src/weights/effnet-format.ts). */
  format: WeightFormat | 'effnet' | 'random' | 'params';
  /**
   * The input the weights were trained on: 'tfjs' for graphs that normalise internally and take [0, 1] RGB
   * (TF-Hub's, as TF.js serves them), 'torchvision' (ImageNet mean/std) for state dicts.
   */
  preprocess: WeightsPreprocess;
  source: string;
}
