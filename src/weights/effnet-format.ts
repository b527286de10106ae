/**
 * The engine's own weights file: one safetensors file holding canonical `ModelParams` (BatchNorm already
 * folded, torchvision layouts) under the op list's canonical keys (`<op>.weight`, `<op>.bias`), the input
 * affine of graphs that normalise internally (`input_affine.scale`/`.shift`), and the whole `ArchSpec` as JSON
 * in `__metadata__` (with the input preprocessing the weights expect), so the file names its own network:
 * padding, BN epsilon and resolution included. It is what
 * `effnet export-weights` writes from any supported source, so a web app serves one file, read in one request
 * with no conversion at load.
 */
import { EffnetError } from '../errors.js';
import { layerOps } from '../model/layers.js';
import { paramTensors } from '../model/ops.js';
import { validateArch, type ArchSpec } from '../model/tables.js';
import { f32ToF16Bits, serializeSafetensors, type SafetensorsFile, type TensorToWrite } from '../safetensors.js';
import type { ModelParams } from './params.js';
import { paramValue } from './params.js';
import type { StateDictNaming } from './torchvision.js';
import type { WeightsPreprocess } from './types.js';

/** `__metadata__.format` of the engine's weights files. */
export const EFFNET_FORMAT = 'effnet-webgpu/1';

const AFFINE = ['input_affine.scale', 'input_affine.shift'] as const;

/** Folded parameters under their canonical keys: every tensor is a weight with its bias, no BatchNorm. */
export const EFFNET_NAMING: StateDictNaming = {
  names: (t) => t.key,
  ignore: (name) => (AFFINE as readonly string[]).includes(name),
  folded: true,
};

export const isEffnetFile = (file: SafetensorsFile): boolean => file.metadata.format === EFFNET_FORMAT;

/**
 * `params` of `spec` as the engine's weights file. F32 (default) is what the engine computes with; F16 stores the
 * weights as IEEE halves (round to nearest even), half the bytes, and they load exactly as written — the
 * rounding is the only change, measured on the logits in test/weights-sources.node.test.ts. Biases and the input
 * affine stay F32 (a few KB). A weight beyond the half range (|w| > 65504) is refused, never written as infinity.
 */
export function serializeEffnetWeights(spec: ArchSpec, params: ModelParams, preprocess: WeightsPreprocess, dtype: 'F32' | 'F16' = 'F32'): Uint8Array {
  const tensors: Record<string, TensorToWrite> = {};
  for (const t of paramTensors(layerOps(spec))) {
    const v = paramValue(params, t.op, t.part);
    if (!v) throw new EffnetError('WEIGHTS', `cannot export ${spec.name}: the parameters lack ${t.key}`);
    tensors[`${t.key}.weight`] = dtype === 'F32' ? { dtype: 'F32', shape: [...t.shape], data: v.weight } : { dtype: 'F16', shape: [...t.shape], data: halves(v.weight, `${t.key}.weight`) };
    tensors[`${t.key}.bias`] = { dtype: 'F32', shape: [v.bias.length], data: v.bias };
  }
  if (params.inputAffine) {
    tensors[AFFINE[0]] = { dtype: 'F32', shape: [3], data: new Float32Array(params.inputAffine.scale) };
    tensors[AFFINE[1]] = { dtype: 'F32', shape: [3], data: new Float32Array(params.inputAffine.shift) };
  }
  return serializeSafetensors(tensors, { format: EFFNET_FORMAT, arch: JSON.stringify(spec), preprocess });
}

/** The `__metadata__.preprocess` values a file may carry (absent: 'torchvision', as files before the field). */
const PREPROCESS: readonly (WeightsPreprocess | undefined)[] = ['tfjs', 'torchvision', undefined];

/**
 * The network an engine weights file describes, checked (validateArch, its limits included) before anything is
 * built from it, and its preprocessing one the engine knows: a value the loader would otherwise read as
 * 'torchvision' is refused by name. A caller's `spec` must be that network (same name and layers), since the
 * parameters were folded and packed for it.
 */
export function effnetFileSpec(file: SafetensorsFile, source: string, spec?: ArchSpec): ArchSpec {
  const preprocess = file.metadata.preprocess;
  if (!PREPROCESS.includes(preprocess as WeightsPreprocess | undefined)) {
    throw new EffnetError('WEIGHTS', `${source}: __metadata__.preprocess must be 'tfjs' or 'torchvision', got '${preprocess!.slice(0, 32)}'`);
  }
  let stored: ArchSpec;
  try {
    stored = validateArch(JSON.parse(file.metadata.arch ?? '') as ArchSpec);
  } catch (cause) {
    throw new EffnetError('WEIGHTS', `${source}: an ${EFFNET_FORMAT} file whose __metadata__.arch is not a valid architecture (${(cause as Error).message})`, { cause });
  }
  if (spec && (spec.name !== stored.name || JSON.stringify(spec.stages) !== JSON.stringify(stored.stages))) {
    throw new EffnetError('WEIGHTS', `${source}: these weights are for ${stored.name}, not ${spec.name} (leave arch out: the file names its network)`);
  }
  return stored;
}

/**
 * The input affine an engine weights file carries, if any (both tensors, three finite values each): a NaN or
 * infinite value is refused here, naming the tensor, rather than surfacing as a non-finite output at run time.
 */
export function effnetInputAffine(file: SafetensorsFile, source: string): ModelParams['inputAffine'] {
  const [scale, shift] = AFFINE.map((n) => (file.has(n) ? Array.from(file.get(n).f32()) : undefined));
  if (!scale && !shift) return undefined;
  if (scale?.length !== 3 || shift?.length !== 3) throw new EffnetError('WEIGHTS', `${source}: ${AFFINE.join(' and ')} must both be present with 3 values each`);
  [scale, shift].forEach((values, t) => {
    const i = values.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) throw new EffnetError('WEIGHTS', `${source}: ${AFFINE[t]}[${i}] is ${values[i]}; the input affine must be finite`);
  });
  return { scale, shift };
}

/** f32 values as F16 bits; a finite value the half range cannot hold is an error naming the tensor. */
function halves(values: Float32Array, name: string): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const h = f32ToF16Bits(values[i]!);
    if ((h & 0x7c00) === 0x7c00 && Number.isFinite(values[i]!)) {
      throw new EffnetError('WEIGHTS', `cannot store ${name} as F16: element ${i} is ${values[i]}, beyond the half range (±65504); export as F32`);
    }
    out[i] = h;
  }
  return out;
}
