/**
 * What a state dict's bytes are, told once per file: the container (a PyTorch checkpoint or safetensors, by the
 * name or the first bytes) and the naming (torchvision, timm, EfficientNet-PyTorch or standalone EfficientNetV2,
 * by keys only each one has), with what each naming implies for the architecture.
 */
import { EffnetError, isEffnetError } from '../errors.js';
import type { ReadPolicy } from '../io/read.js';
import type { ArchSpec } from '../model/tables.js';
import { parseSafetensors, safetensorsFileSize, type SafetensorsFile } from '../safetensors.js';
import { looksLikePytorchCheckpoint, parsePytorchCheckpoint } from './pytorch.js';
import { DLI14_NAMING, EFFICIENTNET_PYTORCH_NAMING, EFFICIENTNET_PYTORCH_OVERRIDES } from './thirdparty.js';
import { TIMM_NAMING, timmSpecOverrides } from './timm.js';
import { TORCHVISION_NAMING, type StateDictNaming } from './torchvision.js';
import type { WeightFormat, WeightOptions } from './types.js';

/** The name says `torch.save` wrote the bytes (.pth, .pt, .bin), whatever they start with. */
const namedPytorch = (source: string): boolean => /\.(pth|pt|bin)$/i.test(source.replace(/[?#].*$/, ''));

/**
 * Safetensors' signature: a u64 header length under 4 GiB, then the JSON header's `{`. A mirror may serve a
 * safetensors file (an `effnet export-weights` output) under torchvision's `.pth` name, so it wins over the name.
 */
const looksLikeSafetensors = (b: Uint8Array): boolean => b.length >= 9 && b[8] === 0x7b && b[4] === 0 && b[5] === 0 && b[6] === 0 && b[7] === 0;

/** Whether the bytes are a PyTorch checkpoint: `torch.save`'s signature (zip or legacy), or a `.pth`-like name on bytes that are not safetensors. */
const isPytorch = (head: Uint8Array, source: string): boolean => looksLikePytorchCheckpoint(head) || (namedPytorch(source) && !looksLikeSafetensors(head));

/**
 * A state dict's bytes: a PyTorch checkpoint when `torch.save` wrote them (zip or legacy signature) or the name
 * says so and they are not safetensors, else safetensors. Either way the result reads the same to every naming.
 */
export function parseStateDictFile(src: ArrayBuffer | Uint8Array, source: string): SafetensorsFile {
  const bytes = src instanceof Uint8Array ? src : new Uint8Array(src);
  return isPytorch(bytes, source) ? parsePytorchCheckpoint(bytes, { source }) : parseSafetensors(bytes, { source });
}

/**
 * The size a state dict's first bytes declare, for the reader's cap: a safetensors header's. A PyTorch
 * checkpoint declares none, nor does a malformed header: the reader's cap on undeclared sizes (`maxBytes`) then
 * holds, and the parser names the problem.
 */
export function stateDictCap(source: string): ReadPolicy['declaredCap'] {
  return (head) => {
    if (head.length >= 4 && looksLikePytorchCheckpoint(head)) return undefined;
    if (head.length < 9) return { need: 9 };
    if (isPytorch(head, source)) return undefined;
    try {
      const size = safetensorsFileSize(head, { source });
      return typeof size === 'number' ? { bytes: size, why: 'its safetensors header describes' } : size;
    } catch (e) {
      if (isEffnetError(e, 'SAFETENSORS')) return undefined;
      throw e;
    }
  };
}

/**
 * A state-dict naming, told apart by keys only it has (first match wins: the standalone V2 definition's
 * `features.0.0` stem is torchvision's too), with what it implies for the architecture and which zoo families
 * its checkpoints come from (what `inferArch` tries).
 */
export interface StateDictFormat {
  format: Exclude<WeightFormat, 'tfjs'>;
  /** Keys that together mark the format. */
  markers: string[];
  naming: StateDictNaming;
  /** The ArchSpec facts the format implies, spread over the zoo or given spec. */
  overrides(opts: WeightOptions): Partial<ArchSpec>;
  /** Zoo families (tables.ts `zooVariants`) its checkpoints are variants of. */
  zoos: string[];
  /** Its model code takes any width multiplier (`width_mult`), so inferArch reads the width off the shapes. */
  freeWidth: boolean;
}

const STATE_DICT_FORMATS: readonly StateDictFormat[] = [
  { format: 'timm', markers: ['conv_stem.weight'], naming: TIMM_NAMING, overrides: (o) => timmSpecOverrides(o.timmModel ?? ''), zoos: ['efficientnet', 'efficientnet_v2'], freeWidth: false },
  { format: 'efficientnet_pytorch', markers: ['_conv_stem.weight'], naming: EFFICIENTNET_PYTORCH_NAMING, overrides: () => EFFICIENTNET_PYTORCH_OVERRIDES, zoos: ['efficientnet'], freeWidth: false },
  { format: 'effnetv2_dli14', markers: ['features.0.0.weight', 'conv.0.weight', 'classifier.weight'], naming: DLI14_NAMING, overrides: () => ({}), zoos: ['effnetv2_dli14'], freeWidth: true },
  { format: 'torchvision', markers: ['features.0.0.weight'], naming: TORCHVISION_NAMING, overrides: () => ({}), zoos: ['efficientnet', 'efficientnet_v2'], freeWidth: false },
];

/** The file's naming: `opts.format` when given, else the first whose markers it holds; a WEIGHTS error listing them when none. */
export function stateDictFormat(file: SafetensorsFile, source: string, opts: WeightOptions): StateDictFormat {
  const format = opts.format === undefined ? STATE_DICT_FORMATS.find((f) => f.markers.every((k) => file.has(k))) : STATE_DICT_FORMATS.find((f) => f.format === opts.format);
  if (format) return format;
  const known = STATE_DICT_FORMATS.map((f) => `${f.format} (${f.markers.join(' + ')})`).reverse();
  const formats = `${known.slice(0, -1).join(', ')} or ${known.at(-1)}`;
  throw new EffnetError('WEIGHTS', `${source}: not a ${formats} EfficientNet state_dict; first tensors: ${file.names().slice(0, 5).join(', ')}`);
}
