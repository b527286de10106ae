import { convGeometry, layerOps, planLayers, type LayerOp } from './layers';
import type { ArchSpec, BlockType } from './tables';

/** Per-model facts (parameters, FLOPs, activation sizes) derived from the same op list the engine runs. */

export interface StageInfo {
  /** torchvision module path: 'features.0' (stem) … 'features.N' (head conv, plus the classifier). */
  name: string;
  block: BlockType | 'stem' | 'head';
  repeats: number;
  inC: number;
  outC: number;
  stride: number;
  expand: number;
  kernel: number;
  se: number;
  params: number;
  flops: number;
}

export interface ModelInfo {
  arch: string;
  resolution: number;
  params: number;
  /** 2 × multiply-adds of convs, SE FCs and the classifier; BN, activations and pooling are not counted. */
  flops: number;
  stages: StageInfo[];
  activations: {
    /** Elements of each module's output (stem, every block, head conv). */
    outputs: { name: string; elements: number }[];
    /** The largest single tensor of the forward pass, expanded intermediates included: what sizes a buffer. */
    peak: { name: string; elements: number };
  };
}

/** Output pixels of a spatial conv (op H/W are its input sizes). */
const outPixels = (op: { H: number; W: number; k: number; s: number; padding: ArchSpec['padding'] }): number =>
  convGeometry(op.H, op.k, op.s, op.padding).out * convGeometry(op.W, op.k, op.s, op.padding).out;

/**
 * Parameters as torchvision counts them (`sum(p.numel())`): convs have no bias but a BatchNorm (gamma + beta
 * = 2 × outC) behind them; SE FCs are 1×1 convs with bias and no BN; the classifier is a Linear with bias.
 */
function opCost(op: LayerOp): { params: number; macs: number; outElements: number } {
  switch (op.kind) {
    case 'stem':
    case 'fused': {
      const w = op.inC * op.outC * op.k * op.k;
      const hw = outPixels(op);
      return { params: w + 2 * op.outC, macs: hw * w, outElements: hw * op.outC };
    }
    case 'dwconv': {
      const w = op.C * op.k * op.k;
      const hw = outPixels(op);
      return { params: w + 2 * op.C, macs: hw * w, outElements: hw * op.C };
    }
    case 'pwconv':
    case 'head':
      return { params: op.inC * op.outC + 2 * op.outC, macs: op.H * op.W * op.inC * op.outC, outElements: op.H * op.W * op.outC };
    case 'se':
      return { params: 2 * op.C * op.seC + op.seC + op.C, macs: 2 * op.C * op.seC, outElements: op.C };
    case 'classifier':
      return { params: op.inC * op.outC + op.outC, macs: op.inC * op.outC, outElements: op.outC };
  }
}

export function modelInfo(spec: ArchSpec, res: number = spec.resolution): ModelInfo {
  const plan = planLayers(spec, res);
  const last = spec.stages.length + 1;
  const stages: StageInfo[] = [
    { name: 'features.0', block: 'stem', repeats: 1, inC: 3, outC: spec.stemC, stride: 2, expand: 1, kernel: 3, se: 0, params: 0, flops: 0 },
    ...spec.stages.map((r, i) => ({
      name: `features.${i + 1}`,
      block: r.block,
      repeats: r.repeats,
      inC: plan.blocks.find((b) => b.stage === i + 1)!.inC,
      outC: r.outC,
      stride: r.stride,
      expand: r.expand,
      kernel: r.kernel,
      se: r.se,
      params: 0,
      flops: 0,
    })),
    { name: `features.${last}`, block: 'head', repeats: 1, inC: plan.head.inC, outC: spec.headC, stride: 1, expand: 1, kernel: 1, se: 0, params: 0, flops: 0 },
  ];

  let peak = { name: '', elements: 0 };
  for (const { module, stage, op } of layerOps(spec, res)) {
    const cost = opCost(op);
    stages[stage]!.params += cost.params;
    stages[stage]!.flops += 2 * cost.macs;
    if (cost.outElements > peak.elements) peak = { name: module, elements: cost.outElements };
  }

  const { stem, head } = plan;
  const outputs = [
    { name: 'features.0', elements: stem.outC * stem.outH * stem.outW },
    ...plan.blocks.map((b) => ({ name: b.name, elements: b.outC * b.outH * b.outW })),
    { name: `features.${last}`, elements: head.outC * head.H * head.W },
  ];
  return {
    arch: spec.name,
    resolution: res,
    params: stages.reduce((a, s) => a + s.params, 0),
    flops: stages.reduce((a, s) => a + s.flops, 0),
    stages,
    activations: { outputs, peak },
  };
}
