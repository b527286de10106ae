/**
 * The block table: what each kind of stage-table block runs, as a list of layer steps. This is the only place
 * the structure of a block (expand → depthwise or fused conv → SE → project) is written; the op list
 * (layers.ts) expands it, adding the wiring every block shares: each step reads the one before it, an SE
 * step gates the input of the step after it, and the last step adds the block input when the block is
 * residual (stride 1, inC = outC). Planning, weights, FLOPs and the schedule all follow from that list.
 */
import { EffnetError } from '../errors.js';
import type { BlockPlan } from './layers.js';
import type { Step } from './ops.js';
import type { StageRow } from './tables.js';

export interface BlockDef {
  /** The block's steps in execution order; `false` leaves a step out (no expansion at expand 1, no SE at se 0). */
  steps(b: BlockPlan): (Step | false)[];
  /** Why a stage-table row cannot be built from this block, if it cannot. */
  check?(row: StageRow): string | undefined;
}

/**
 * torchvision `_make_divisible(v, 8)`: `int(v + 4) // 8 * 8`, i.e. nearest multiple of 8 with halves rounding
 * up (B2: 1.1 × 40 = 44 → 48), at least 8, and bumped by 8 if that fell more than 10% below v. The stage table
 * scales widths with it and a block rounds its SE width with it. It lives here because the stage table imports
 * this one (to check its rows' block kinds): in tables.ts, the two would import each other.
 */
export function makeDivisible(v: number, divisor = 8): number {
  let out = Math.max(divisor, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (out < 0.9 * v) out += divisor;
  return out;
}

const se = (b: BlockPlan, seC = b.seC): Step | false => b.seC > 0 && { kind: 'se', name: 'se', seC };

/** The built-in block kinds, in the order `blockKinds` lists them. */
const BUILT_IN: Readonly<Record<string, BlockDef>> = Object.freeze({
  // torchvision MBConv: [1×1 expand + SiLU] → depthwise k×k (stride) + SiLU → [SE] → 1×1 project.
  mbconv: {
    steps: (b) => [
      b.expandC !== b.inC && { kind: 'pwconv', name: 'expand', outC: b.expandC, act: 'silu' },
      { kind: 'dwconv', name: 'dwconv', param: 'dw', k: b.kernel, s: b.stride },
      se(b),
      { kind: 'pwconv', name: 'project', outC: b.outC, act: 'none' },
    ],
  },
  // torchvision FusedMBConv: k×k expand (stride) + SiLU → [SE] → 1×1 project; at expand 1 the block is its
  // single k×k conv + SiLU, stored as the projection.
  fused: {
    steps: (b) =>
      b.expandC === b.inC
        ? [{ kind: 'fused', name: 'conv', param: 'project', outC: b.outC, k: b.kernel, s: b.stride, act: 'silu' }]
        : [
            { kind: 'fused', name: 'expand', outC: b.expandC, k: b.kernel, s: b.stride, act: 'silu' },
            se(b),
            { kind: 'pwconv', name: 'project', outC: b.outC, act: 'none' },
          ],
    // SE gates the expanded tensor between the k×k conv and the projection; at expand 1 there is none.
    check: (row) => (row.expand === 1 && row.se > 0 ? 'a fused block with expand 1 cannot have SE' : undefined),
  },
  // The standalone EfficientNetV2 PyTorch code's Fused-MBConv: k×k conv (stride) + SiLU → [SE] → 1×1 project,
  // the projection kept at expand 1 too (a k×k inC→inC conv, then 1×1 inC→outC).
  fused_project: {
    steps: (b) => [
      { kind: 'fused', name: 'expand', outC: b.expandC, k: b.kernel, s: b.stride, act: 'silu' },
      se(b),
      { kind: 'pwconv', name: 'project', outC: b.outC, act: 'none' },
    ],
  },
  // The standalone EfficientNetV2 PyTorch code's MBConv: its 1×1 expansion is there at every expand ratio, and
  // its SELayer is make_divisible(inC // 4, 8) wide (seC = floor(inC × se), rounded like the widths).
  mbconv_rounded_se: {
    steps: (b) => [
      { kind: 'pwconv', name: 'expand', outC: b.expandC, act: 'silu' },
      { kind: 'dwconv', name: 'dwconv', param: 'dw', k: b.kernel, s: b.stride },
      se(b, makeDivisible(b.seC)),
      { kind: 'pwconv', name: 'project', outC: b.outC, act: 'none' },
    ],
  },
});

/** Kinds added with `defineBlock`, by users of the engine at run time; the engine itself adds none. */
const added = new Map<string, BlockDef>();

/** The definition of a block kind; undefined for a kind nobody defined. */
export const blockDef = (kind: string): BlockDef | undefined => (Object.hasOwn(BUILT_IN, kind) ? BUILT_IN[kind] : added.get(kind));

export const blockKinds = (): string[] => [...Object.keys(BUILT_IN), ...added.keys()];

/**
 * Adds a block kind that stage tables may then name in `StageRow.block`. Its steps may use any op kind of
 * the op table (ops.ts) and the parameter slots of BlockParams (expand, dw, se, project).
 */
export function defineBlock(kind: string, def: BlockDef): void {
  if (blockDef(kind)) throw new EffnetError('MODEL_SPEC', `block kind '${kind}' is already defined`);
  added.set(kind, def);
}
