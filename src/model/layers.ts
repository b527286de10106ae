import { EffnetError } from '../errors.js';
import { blockDef } from './blocks.js';
import { convGeometry } from '../kernels/geometry.js';
import { opDef, type LayerOp, type NetOp, type Step, type Tensor3 } from './ops.js';
import type { ArchSpec, BlockType } from './tables.js';

export { convGeometry };
export type { LayerOp, NetOp };

/** Expands an ArchSpec at a concrete input size into the blocks the engine runs, named like torchvision's modules. */

export interface StemPlan {
  inC: 3;
  outC: number;
  kernel: 3;
  stride: 2;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
}

export interface BlockPlan {
  /** 1-based table row; features.0 is the stem. */
  stage: number;
  /** Position within the stage. */
  index: number;
  /** torchvision module path, e.g. 'features.3.1'. */
  name: string;
  block: BlockType;
  inC: number;
  outC: number;
  /** inC × expand; when it equals inC there is no expansion conv (a fused block is then one k×k conv inC→outC). */
  expandC: number;
  kernel: number;
  stride: number;
  /** Squeeze width max(1, floor(inC × se)), 0 without SE. */
  seC: number;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  residual: boolean;
}

export interface HeadPlan {
  inC: number;
  outC: number;
  H: number;
  W: number;
}

export interface LayerPlan {
  stem: StemPlan;
  blocks: BlockPlan[];
  head: HeadPlan;
  classifier: { inC: number; outC: number };
}

export function planLayers(spec: ArchSpec, res: number = spec.resolution): LayerPlan {
  if (!Number.isInteger(res) || res <= 0) throw new EffnetError('MODEL_SPEC', `resolution must be a positive integer, got ${res}`);
  const out = (size: number, k: number, s: number) => convGeometry(size, k, s, spec.padding).out;
  const stemOut = out(res, 3, 2);
  const stem: StemPlan = { inC: 3, outC: spec.stemC, kernel: 3, stride: 2, inH: res, inW: res, outH: stemOut, outW: stemOut };

  const blocks: BlockPlan[] = [];
  let c = spec.stemC;
  let h = stemOut;
  let w = stemOut;
  spec.stages.forEach((row, si) => {
    for (let i = 0; i < row.repeats; i++) {
      const stride = i === 0 ? row.stride : 1;
      const b: BlockPlan = {
        stage: si + 1,
        index: i,
        name: `features.${si + 1}.${i}`,
        block: row.block,
        inC: c,
        outC: row.outC,
        expandC: c * row.expand,
        kernel: row.kernel,
        stride,
        seC: row.se > 0 ? Math.max(1, Math.floor(c * row.se)) : 0,
        inH: h,
        inW: w,
        outH: out(h, row.kernel, stride),
        outW: out(w, row.kernel, stride),
        residual: stride === 1 && c === row.outC,
      };
      blocks.push(b);
      [c, h, w] = [b.outC, b.outH, b.outW];
    }
  });
  return { stem, blocks, head: { inC: c, outC: spec.headC, H: h, W: w }, classifier: { inC: spec.headC, outC: spec.numClasses } };
}

/**
 * The forward pass as one list of ops in execution order: the stem, each block's steps from the block table
 * (blocks.ts) with the wiring every block shares, the head conv and the classifier. Every op carries its
 * shapes, wiring, parameter keys and cost (ops.ts); everything downstream reads this list.
 */
export function layerOps(spec: ArchSpec, res: number = spec.resolution): NetOp[] {
  const plan = planLayers(spec, res);
  const last = spec.stages.length + 1;
  const ops: NetOp[] = [];
  let x: Tensor3 = { C: 3, H: res, W: res };
  let from = -1;
  let gate: number | undefined;

  interface Place {
    module: string;
    stage: number;
    block: string;
    name: string;
    tensor: string;
    slot: string;
    layer: number;
    owner?: NetOp['owner'];
    res?: number;
    feature?: string;
  }
  const add = (step: Step, at: Place): void => {
    const def = opDef(step.kind);
    const where = `${at.module} ${step.name}`;
    if (gate !== undefined && !def.fuses.gate) throw new EffnetError('MODEL_SPEC', `${where}: ${step.kind} cannot apply the SE gate of the step before it`);
    if (at.res !== undefined && !def.fuses.residual) throw new EffnetError('MODEL_SPEC', `${where}: ${step.kind} cannot add the block's residual`);
    const op = def.shape(step as never, x, { padding: spec.padding, residual: at.res !== undefined, gated: gate !== undefined });
    const pass = at.stage === 0 ? 'stem' : at.stage === last ? 'head' : `stage${at.stage}`;
    const params = def.params(op as never).reduce((a, p) => a + p.shape.reduce((m, d) => m * d, 1) + p.shape[0]! * (p.norm === 'bn' ? 2 : 1), 0);
    const out = def.out(op as never);
    const index = ops.length;
    ops.push({
      index, op, module: at.module, stage: at.stage, pass, block: at.block, name: at.name, tensor: at.tensor,
      param: at.owner ? `${at.module}.${at.slot}` : at.slot, slot: at.slot, owner: at.owner, layer: at.layer,
      x: from, res: at.res, gate, in: x, out, feature: at.feature,
      flops: 2 * def.macs(op as never), params, outElements: def.outElements(op as never),
    });
    if (def.gates) {
      gate = index;
    } else {
      [x, from, gate] = [out, index, undefined];
    }
  };

  add({ kind: 'stem', name: 'stem', outC: spec.stemC }, {
    module: 'features.0', stage: 0, block: 'stem', name: 'features.0.stem', tensor: 'features.0', slot: 'stem', layer: 0, feature: 'features.0',
  });
  plan.blocks.forEach((b, index) => {
    const def = blockDef(b.block);
    if (!def) throw new EffnetError('MODEL_SPEC', `${b.name}: unknown block kind '${b.block}'`);
    const steps = def.steps(b).filter((s): s is Step => s !== false);
    const input = from;
    const stageEnd = plan.blocks[index + 1]?.stage !== b.stage;
    steps.forEach((step, j) => {
      const final = j === steps.length - 1;
      add(step, {
        module: b.name, stage: b.stage, block: b.block, name: `${b.name}.${step.name}`,
        tensor: final ? b.name : `${b.name}.${step.param ?? step.name}`,
        slot: step.param ?? step.name, layer: j, owner: { plan: b, index },
        res: final && b.residual ? input : undefined,
        feature: final && stageEnd ? `features.${b.stage}` : undefined,
      });
    });
    if (gate !== undefined || x.C !== b.outC || x.H !== b.outH || x.W !== b.outW) {
      throw new EffnetError('MODEL_SPEC', `${b.name}: the '${b.block}' block's steps end in ${x.C}×${x.H}×${x.W}, the plan says ${b.outC}×${b.outH}×${b.outW}`);
    }
  });
  add({ kind: 'head', name: 'conv', outC: spec.headC }, {
    module: `features.${last}`, stage: last, block: 'head', name: 'head.conv', tensor: `features.${last}`, slot: 'head', layer: 0, feature: `features.${last}`,
  });
  add({ kind: 'classifier', name: 'classifier', outC: spec.numClasses }, {
    module: 'classifier.1', stage: last, block: 'head', name: 'head.classifier', tensor: 'logits', slot: 'classifier', layer: 0,
  });
  return ops;
}

export type LayerShape = LayerOp & { key: string };

const keyOf = (op: LayerOp): string =>
  `${op.kind}:${Object.entries(op).filter(([k]) => k !== 'kind').map(([k, v]) => `${k}=${v}`).join(',')}`;

/** Every distinct op shape the network runs at `res`, in first-use order, each with a unique `key`. */
export function distinctLayerShapes(spec: ArchSpec, res: number = spec.resolution): LayerShape[] {
  const seen = new Map<string, LayerShape>();
  for (const { op } of layerOps(spec, res)) {
    const key = keyOf(op);
    if (!seen.has(key)) seen.set(key, { ...op, key });
  }
  return [...seen.values()];
}
