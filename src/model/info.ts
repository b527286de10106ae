import { layerOps, planLayers } from './layers.js';
import type { ArchSpec, BlockType, PublishedFigures } from './tables.js';

/**
 * Per-model facts (parameters, FLOPs, activation sizes) summed over the op list the engine runs; each op's
 * cost is the op table's (ops.ts), the same numbers the graph builder gives its launches.
 */

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
  /**
   * 2 × multiply-adds of convs, SE FCs and the classifier; BN, activations and pooling are not counted.
   * Parameters as torchvision counts them (`sum(p.numel())`): convs have no bias but a BatchNorm (gamma +
   * beta = 2 × outC) behind them; SE FCs are 1×1 convs with bias and no BN; the classifier is a Linear with bias.
   */
  flops: number;
  stages: StageInfo[];
  activations: {
    /** Elements of each module's output (stem, every block, head conv). */
    outputs: { name: string; elements: number }[];
    /** The largest single tensor of the forward pass, expanded intermediates included: what sizes a buffer. */
    peak: { name: string; elements: number };
  };
  /** The authors' own figures for the variant (spec.published), to set beside `params` and `flops` / 2. */
  published?: PublishedFigures;
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
  for (const op of layerOps(spec, res)) {
    stages[op.stage]!.params += op.params;
    stages[op.stage]!.flops += op.flops;
    if (op.outElements > peak.elements) peak = { name: op.module, elements: op.outElements };
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
    ...(spec.published && { published: spec.published }),
  };
}
