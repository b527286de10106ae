/**
 * timm EfficientNet / EfficientNetV2 checkpoints (`efficientnet_b0`, `tf_efficientnet_b0`,
 * `efficientnetv2_s`, `tf_efficientnetv2_s`, …). Same tensors and layouts as torchvision, different names:
 * timm picks a block class per block and each class names its convs and norms itself.
 */
import { EffnetError } from '../errors.js';
import type { ArchSpec } from '../model/tables.js';
import type { SafetensorsFile } from '../safetensors.js';
import type { ModelParams } from './params.js';
import { paramsFromStateDict, type StateDictNaming, type StateDictOptions } from './torchvision.js';

/**
 * timm/models/_efficientnet_blocks.py picks a block class by which convs the block has, and each class
 * names its convs and norms itself (slot → [conv, bn]); SE is SqueezeExcite (se.conv_reduce, se.conv_expand).
 */
const TIMM_BLOCKS: Record<string, Record<string, [conv: string, bn: string]>> = {
  // InvertedResidual (MBConv, expand ≠ 1)
  'dw,expand,project': { expand: ['conv_pw', 'bn1'], dw: ['conv_dw', 'bn2'], project: ['conv_pwl', 'bn3'] },
  // DepthwiseSeparableConv (MBConv, expand 1)
  'dw,project': { dw: ['conv_dw', 'bn1'], project: ['conv_pw', 'bn2'] },
  // EdgeResidual (Fused, expand ≠ 1)
  'expand,project': { expand: ['conv_exp', 'bn1'], project: ['conv_pwl', 'bn2'] },
  // ConvBnAct (Fused, expand 1)
  project: { project: ['conv', 'bn1'] },
};

const TIMM_ENDS: Record<string, [conv: string, bn: string]> = { stem: ['conv_stem', 'bn1'], head: ['conv_head', 'bn2'] };

export const TIMM_NAMING: StateDictNaming = {
  names(t, block) {
    if (!t.op.owner) {
      if (t.norm === 'bias') return 'classifier';
      const [conv, bn] = TIMM_ENDS[t.op.slot]!;
      return { weight: `${conv}.weight`, bn };
    }
    const p = `blocks.${t.op.owner.plan.stage - 1}.${t.op.owner.plan.index}`;
    if (t.part) return `${p}.se.conv_${t.part}`;
    const convs = [...new Set(block.filter((b) => b.norm === 'bn').map((b) => b.op.slot))].sort().join(',');
    const named = TIMM_BLOCKS[convs]?.[t.op.slot];
    if (!named) throw new EffnetError('WEIGHTS', `${t.op.module}: timm has no block class with the convs ${convs}`);
    return { weight: `${p}.${named[0]}.weight`, bn: `${p}.${named[1]}` };
  },
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
