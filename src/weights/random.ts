/**
 * Seeded random parameters for any stage table (custom tables have no pretrained weights). Weights are
 * He-normal-like and BN is folded with γ≈1, so activations keep a sane scale through deep networks and
 * the profiler/benchmarks see realistic (non-degenerate) values.
 */
import type { ArchSpec } from '../model/tables.js';
import { layerOps } from '../model/layers.js';
import { paramTensors } from '../model/ops.js';
import { mulberry32 } from '../prng.js';
import { assembleParams, type ModelParams } from './params.js';

/** Box–Muller over mulberry32; the half-step offset keeps the uniform draw in (0, 1), away from log(0). */
function gaussian(seed: number): () => number {
  const next = mulberry32(seed);
  const uniform = () => (next() + 0.5) / 4294967296;
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * Drawn in op-list order. He gain 2 where a nonlinearity follows; 1 where none does (projections, the
 * classifier), which keeps residual sums from growing.
 */
export function randomParams(spec: ArchSpec, seed = 1): ModelParams {
  const g = gaussian(seed);
  return assembleParams(paramTensors(layerOps(spec)), (t) => {
    const [outC, ...fan] = t.shape as [number, ...number[]];
    const n = t.shape.reduce((a, b) => a * b, 1);
    const std = Math.sqrt((t.activated ? 2 : 1) / fan.reduce((a, b) => a * b, 1));
    const weight = new Float32Array(n);
    for (let i = 0; i < n; i++) weight[i] = g() * std;
    const bias = new Float32Array(outC);
    for (let i = 0; i < outC; i++) bias[i] = g() * 0.05;
    return { weight, shape: t.shape, bias };
  });
}
