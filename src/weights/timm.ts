/**
 * timm EfficientNet / EfficientNetV2 checkpoints (`efficientnet_b0`, `tf_efficientnet_b0`,
 * `efficientnetv2_s`, `tf_efficientnetv2_s`, …). Same tensors and layouts as torchvision, different names:
 * timm picks a block class per block and each class names its convs and norms itself.
 */
import type { ArchSpec } from '../model/tables.js';
import type { SafetensorsFile } from '../safetensors.js';
import type { BlockShapes } from './check.js';
import type { ModelParams } from './params.js';
import { paramsFromStateDict, type BlockNames, type ConvBnNames, type StateDictNaming, type StateDictOptions } from './torchvision.js';

const cb = (prefix: string, conv: string, bn: string): ConvBnNames => ({ weight: `${prefix}.${conv}.weight`, bn: `${prefix}.${bn}` });

/**
 * timm/models/_efficientnet_blocks.py, chosen by what the block has:
 *   InvertedResidual (MBConv, expand ≠ 1):     conv_pw bn1 · conv_dw bn2 · se · conv_pwl bn3
 *   DepthwiseSeparableConv (MBConv, expand 1): conv_dw bn1 · se · conv_pw bn2
 *   EdgeResidual (Fused, expand ≠ 1):          conv_exp bn1 · [se] · conv_pwl bn2
 *   ConvBnAct (Fused, expand 1):               conv bn1
 * SE is SqueezeExcite: se.conv_reduce, se.conv_expand (both with bias).
 */
function timmBlock(s: BlockShapes): BlockNames {
  const p = `blocks.${s.plan.stage - 1}.${s.plan.index}`;
  const se = s.se ? { reduce: `${p}.se.conv_reduce`, expand: `${p}.se.conv_expand` } : undefined;
  if (s.dw) {
    return s.expand
      ? { expand: cb(p, 'conv_pw', 'bn1'), dw: cb(p, 'conv_dw', 'bn2'), se, project: cb(p, 'conv_pwl', 'bn3') }
      : { dw: cb(p, 'conv_dw', 'bn1'), se, project: cb(p, 'conv_pw', 'bn2') };
  }
  return s.expand ? { expand: cb(p, 'conv_exp', 'bn1'), se, project: cb(p, 'conv_pwl', 'bn2') } : { project: cb(p, 'conv', 'bn1') };
}

export const TIMM_NAMING: StateDictNaming = {
  stem: { weight: 'conv_stem.weight', bn: 'bn1' },
  block: timmBlock,
  head: { weight: 'conv_head.weight', bn: 'bn2' },
  classifier: 'classifier',
  ignore: (name) => name.endsWith('.num_batches_tracked'),
};

/**
 * Per-name-prefix facts about timm models, first match wins. `tf_` models are ports of the TensorFlow
 * checkpoints: TF "SAME" padding (timm's Conv2dSame) and TF's BN eps 1e-3. Every other timm model uses
 * symmetric padding and PyTorch's default BN eps 1e-5 — also for V2 and B5–B7, where torchvision's own
 * definitions (and so spec.bnEps) say 1e-3.
 */
const TIMM_VARIANTS: readonly { prefix: string; overrides: Partial<Pick<ArchSpec, 'padding' | 'bnEps'>> }[] = [
  { prefix: 'tf_', overrides: { padding: 'same', bnEps: 1e-3 } },
  { prefix: '', overrides: { padding: 'symmetric', bnEps: 1e-5 } },
];

/** The ArchSpec fields a timm model name implies; spread over the matching zoo spec (`{ ...spec, ...overrides }`). */
export function timmSpecOverrides(modelName: string): Partial<Pick<ArchSpec, 'padding' | 'bnEps'>> {
  const bare = modelName.replace(/^timm\//, '');
  return { ...TIMM_VARIANTS.find((v) => bare.startsWith(v.prefix))!.overrides };
}

/** A timm state_dict → ModelParams. BN eps: `opts.bnEps`, default spec.bnEps (use timmSpecOverrides for the right one). */
export function paramsFromTimm(file: SafetensorsFile, spec: ArchSpec, opts: StateDictOptions = {}): ModelParams {
  return paramsFromStateDict(file, spec, TIMM_NAMING, opts);
}
