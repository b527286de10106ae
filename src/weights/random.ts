/**
 * Seeded random parameters for any stage table (custom tables have no pretrained weights). Weights are
 * He-normal-like and BN is folded with γ≈1, so activations keep a sane scale through deep networks and
 * the profiler/benchmarks see realistic (non-degenerate) values.
 */
import type { ArchSpec } from '../model/tables.js';
import { planLayers } from '../model/layers.js';
import type { ConvParams, ModelParams, BlockParams } from './params.js';

function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

export function randomParams(spec: ArchSpec, seed = 1): ModelParams {
  const g = gaussian(seed);
  const conv = (outC: number, inC: number, k: number, gain = 2): ConvParams => {
    const n = outC * inC * k * k;
    const std = Math.sqrt(gain / (inC * k * k));
    const weight = new Float32Array(n);
    for (let i = 0; i < n; i++) weight[i] = g() * std;
    const bias = new Float32Array(outC);
    for (let i = 0; i < outC; i++) bias[i] = g() * 0.05;
    return { weight, shape: [outC, inC, k, k], bias };
  };
  const plan = planLayers(spec);
  const blocks = plan.blocks.map((b): BlockParams => {
    const expanded = b.expandC !== b.inC;
    const p: BlockParams = {
      // The projection has no activation after it, so a smaller gain keeps residual sums from growing.
      project: b.block === 'fused' && !expanded ? conv(b.outC, b.inC, b.kernel) : conv(b.outC, b.expandC, 1, 1),
    };
    if (expanded) p.expand = b.block === 'mbconv' ? conv(b.expandC, b.inC, 1) : conv(b.expandC, b.inC, b.kernel);
    if (b.block === 'mbconv') p.dw = conv(b.expandC, 1, b.kernel);
    if (b.seC > 0) p.se = { reduce: conv(b.seC, b.expandC, 1), expand: conv(b.expandC, b.seC, 1) };
    return p;
  });
  const cls = conv(plan.classifier.outC, plan.classifier.inC, 1, 1);
  return {
    stem: conv(plan.stem.outC, 3, 3),
    blocks,
    head: conv(plan.head.outC, plan.head.inC, 1),
    classifier: { weight: cls.weight, shape: [plan.classifier.outC, plan.classifier.inC], bias: cls.bias },
  };
}
