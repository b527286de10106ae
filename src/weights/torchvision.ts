/**
 * PyTorch state_dict → ModelParams. torchvision and timm store the same tensors in the same layouts
 * (conv OIHW, depthwise [C,1,k,k], linear [out,in], BatchNorm unfolded); only the key names differ, so
 * both loaders are a naming scheme handed to `paramsFromStateDict`, which checks and folds.
 */
import { EffnetError } from '../errors.js';
import { layerOps } from '../model/layers.js';
import { paramTensors, type ParamTensor } from '../model/ops.js';
import type { ArchSpec } from '../model/tables.js';
import type { SafetensorsFile } from '../safetensors.js';
import { assertFinite, checkTensorSet, type ExpectedTensor } from './check.js';
import { assembleParams, foldBatchNorm, type ConvParams, type ModelParams } from './params.js';

/** A bias-free conv followed by BatchNorm: `weight` is the conv's key, `bn` the BN module's prefix. */
export interface ConvBnNames {
  weight: string;
  bn: string;
}

export interface StateDictNaming {
  /**
   * Where parameter tensor `t` lives: a conv + BatchNorm (norm 'bn'), or the prefix of a module with its own
   * `.weight` and `.bias` (norm 'bias': SE convs, the classifier). `block` is every parameter tensor of t's
   * block, in execution order (empty outside blocks).
   */
  names(t: ParamTensor, block: readonly ParamTensor[]): ConvBnNames | string;
  /** Keys the format carries that inference never reads. */
  ignore(name: string): boolean;
  /**
   * How the format stores t's weight when its shape differs from the canonical one with the same element
   * order (an SE written as Linear layers: [out, in] for the canonical 1×1 conv's [out, in, 1, 1]).
   */
  storedShape?(t: ParamTensor): readonly number[];
  /** Every tensor stored with BatchNorm already folded in (a weight and its bias): the engine's own files. */
  folded?: boolean;
}

export interface StateDictOptions {
  /** Names the file in error messages. */
  source?: string;
  /** BatchNorm epsilon; default spec.bnEps. */
  bnEps?: number;
}

const BN_FIELDS = ['weight', 'bias', 'running_mean', 'running_var'] as const;

/** Where each parameter tensor of `spec` lives under `naming`, and the complete list of keys that makes. */
function stateDictLayout(spec: ArchSpec, naming: StateDictNaming) {
  const tensors = paramTensors(layerOps(spec));
  const blocks = new Map<number, ParamTensor[]>();
  for (const t of tensors) if (t.op.owner) blocks.set(t.op.owner.index, [...(blocks.get(t.op.owner.index) ?? []), t]);
  const names = new Map(tensors.map((t) => {
    const n = naming.names(t, t.op.owner ? blocks.get(t.op.owner.index)! : []);
    // A naming that disagrees with the op table about how a tensor is stored is a bug in the naming, not the file.
    if ((typeof n === 'string') !== (naming.folded || t.norm === 'bias')) throw new EffnetError('WEIGHTS', `state-dict naming for ${t.key}: expected ${t.norm === 'bn' ? 'conv + BatchNorm' : 'a biased module'} names`);
    return [t, n] as const;
  }));
  const expected: ExpectedTensor[] = tensors.flatMap((t): ExpectedTensor[] => {
    const n = names.get(t)!;
    const shape = naming.storedShape?.(t) ?? t.shape;
    if (typeof n === 'string') return [{ name: `${n}.weight`, shape }, { name: `${n}.bias`, shape: [t.shape[0]!] }];
    return [{ name: n.weight, shape }, ...BN_FIELDS.map((f) => ({ name: `${n.bn}.${f}`, shape: [t.shape[0]!] }))];
  });
  return { tensors, names, expected };
}

/** Every key (with its shape) a state dict of `spec` holds under `naming`, from the architecture alone. */
export const expectedStateDict = (spec: ArchSpec, naming: StateDictNaming): ExpectedTensor[] => stateDictLayout(spec, naming).expected;

/** Checks the file against the full expected tensor list for `spec`, then reads and folds every conv. */
export function paramsFromStateDict(file: SafetensorsFile, spec: ArchSpec, naming: StateDictNaming, opts: StateDictOptions = {}): ModelParams {
  const source = opts.source ?? '<safetensors>';
  const eps = opts.bnEps ?? spec.bnEps;
  // 1. The complete expected list, from the architecture alone.
  const { tensors, names, expected } = stateDictLayout(spec, naming);

  // 2. One error listing every difference.
  checkTensorSet({ source, arch: spec.name }, expected, file.tensors.values(), { ignore: (name) => naming.ignore(name) });

  // 3. Read (any float dtype → f32) and fold.
  const read = (name: string): Float32Array => {
    const v = file.get(name).f32();
    assertFinite(source, name, v);
    return v;
  };
  return assembleParams(tensors, (t) => {
    const n = names.get(t)!;
    if (typeof n === 'string') return { weight: read(`${n}.weight`), shape: t.shape, bias: read(`${n}.bias`) };
    const bn = { gamma: read(`${n.bn}.weight`), beta: read(`${n.bn}.bias`), mean: read(`${n.bn}.running_mean`), variance: read(`${n.bn}.running_var`) };
    const folded = foldBatchNorm(read(n.weight), t.shape as ConvParams['shape'], bn, eps);
    // A negative running_var (corrupt statistics) would fold into NaN.
    assertFinite(source, `${n.weight} folded with ${n.bn}`, folded.bias);
    assertFinite(source, `${n.weight} folded with ${n.bn}`, folded.weight);
    return folded;
  });
}

/**
 * torchvision efficientnet.py: `features.0` stem, `features.s.i.block` a Sequential of the block's layers in
 * execution order, numbered from 0 — the block's op list, so absent layers are skipped (MBConv expand 6:
 * expand=0, dw=1, SE=2, project=3; expand 1: dw=0, SE=1, project=2; Fused expand 1: its single k×k conv is
 * block.0). Conv2dNormActivation is a Sequential (`.0` the conv, `.1` the BatchNorm); SE is fc1, fc2.
 * `features.{last}` is the head; the classifier is `classifier.1` (classifier.0 is Dropout).
 */
export const TORCHVISION_NAMING: StateDictNaming = {
  names(t) {
    const at = t.op.owner ? `${t.op.module}.block.${t.op.layer}` : t.op.module;
    if (t.norm === 'bn') return { weight: `${at}.0.weight`, bn: `${at}.1` };
    return t.part ? `${at}.${t.part === 'reduce' ? 'fc1' : 'fc2'}` : at;
  },
  ignore: (name) => name.endsWith('.num_batches_tracked'),
};

/** A torchvision `state_dict` (F32, F16, BF16 or F64 safetensors) → ModelParams with BN folded (eps = spec.bnEps). */
export function paramsFromTorchvision(file: SafetensorsFile, spec: ArchSpec, opts: StateDictOptions = {}): ModelParams {
  return paramsFromStateDict(file, spec, TORCHVISION_NAMING, opts);
}
