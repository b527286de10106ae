/**
 * State-dict namings of third-party EfficientNet model code: EfficientNet-PyTorch (the `efficientnet_pytorch`
 * package) and the standalone EfficientNetV2 PyTorch definition (`effnetv2_s/m/l/xl`). Same tensors and
 * layouts as torchvision except where `storedShape` says otherwise; only the key names differ.
 */
import type { ArchSpec } from '../model/tables.js';
import type { StateDictNaming } from './torchvision.js';

const ignoreBatchCounters = (name: string) => name.endsWith('.num_batches_tracked');

/** efficientnet_pytorch/model.py MBConvBlock: each conv and its BatchNorm by slot. */
const EFFICIENTNET_PYTORCH_BLOCK: Record<string, [conv: string, bn: string]> = {
  expand: ['_expand_conv', '_bn0'],
  dw: ['_depthwise_conv', '_bn1'],
  project: ['_project_conv', '_bn2'],
};
const EFFICIENTNET_PYTORCH_ENDS: Record<string, [conv: string, bn: string]> = { stem: ['_conv_stem', '_bn0'], head: ['_conv_head', '_bn1'] };

/**
 * EfficientNet-PyTorch: `_conv_stem`/`_bn0`, `_blocks.N` numbered over the whole network (MBConvBlock: `_expand_conv`
 * and `_bn0` only when expand ≠ 1, `_depthwise_conv`/`_bn1`, `_se_reduce`/`_se_expand` 1×1 convs with bias,
 * `_project_conv`/`_bn2`), `_conv_head`/`_bn1`, `_fc`.
 */
export const EFFICIENTNET_PYTORCH_NAMING: StateDictNaming = {
  names(t) {
    if (!t.op.owner) {
      if (t.norm === 'bias') return '_fc';
      const [conv, bn] = EFFICIENTNET_PYTORCH_ENDS[t.op.slot]!;
      return { weight: `${conv}.weight`, bn };
    }
    const at = `_blocks.${t.op.owner.index}`;
    if (t.part) return `${at}._se_${t.part}`;
    const [conv, bn] = EFFICIENTNET_PYTORCH_BLOCK[t.op.slot]!;
    return { weight: `${at}.${conv}.weight`, bn: `${at}.${bn}` };
  },
  ignore: ignoreBatchCounters,
};

/**
 * What EfficientNet-PyTorch's models are beyond the zoo's V1 tables: TensorFlow "SAME" padding (its
 * Conv2dStaticSamePadding, computed for the image size the model was built for) and TF's BN eps 1e-3.
 */
export const EFFICIENTNET_PYTORCH_OVERRIDES: Partial<Pick<ArchSpec, 'padding' | 'bnEps'>> = { padding: 'same', bnEps: 1e-3 };

/**
 * The standalone EfficientNetV2 definition: `features.0.0`/`.1` the stem conv and BN, then one `features.i` per
 * block (i = global block index + 1) whose layers are the flat Sequential `conv`: every conv is followed by its
 * BatchNorm and, when activated, a SiLU (three entries, two for the projection), SELayer is one entry whose `fc`
 * holds Linear (reduce) at `fc.0` and Linear (expand) at `fc.2`. The head is `conv.0`/`conv.1`, the classifier
 * `classifier`.
 */
export const DLI14_NAMING: StateDictNaming = {
  names(t, block) {
    if (!t.op.owner) {
      if (t.norm === 'bias') return 'classifier';
      return t.op.slot === 'stem' ? { weight: 'features.0.0.weight', bn: 'features.0.1' } : { weight: 'conv.0.weight', bn: 'conv.1' };
    }
    const at = `features.${t.op.owner.index + 1}.conv`;
    // The Sequential position of t's layer: the entries the block's earlier layers take.
    let position = 0;
    for (const b of block) {
      if (b.op === t.op) break;
      if (b.part === 'expand') continue;
      position += b.part ? 1 : b.activated ? 3 : 2;
    }
    if (t.part) return `${at}.${position}.fc.${t.part === 'reduce' ? 0 : 2}`;
    return { weight: `${at}.${position}.weight`, bn: `${at}.${position + 1}` };
  },
  ignore: ignoreBatchCounters,
  // SELayer's Linear layers are [out, in]; the canonical SE convs are [out, in, 1, 1] in the same order.
  storedShape: (t) => (t.part ? t.shape.slice(0, 2) : t.shape),
};
