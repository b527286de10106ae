/**
 * Per-stage latency on the CPU runtime (`effnet profile --backend cpu`), under the GPU profile's stage names
 * (`stem`, `stage1` …, `head`) so `profile --compare` lines the two up. Two ways to time a stage:
 *
 * - 'trace' (where the runtime has a per-node profiler: onnxruntime-node's trace file): the whole network as one
 *   model file, each run's nodes summed by the stage their tensor belongs to. The runtime names the nodes left after
 *   its fusions by our tensor names (`features.1.0.dwconv#3_nchwc`), so each maps back to its op's stage; the layout
 *   reorders it inserts (unnamed) go with the node they feed (`ReorderInput`) or drain (`ReorderOutput`). What the
 *   stages do not cover is the runtime's time between nodes.
 * - 'split' (every runtime; LiteRT.js has no per-op profiler): each stage written as a model file of its own
 *   (graph.ts `passGraph`) and timed alone on a seeded random input, `performance.now()` around each call, in rounds
 *   with the whole network so drift hits all alike. Nothing is subtracted for the cuts: per cut a runtime call
 *   (onnxruntime-node: ~0.04 ms in JS and its binding, ~0.1 ms more in the runtime at B0's sizes) and the boundary
 *   tensor copied out of the runtime and read in again (~0.23 ms per MB); measured here (2-core EPYC, onnxruntime-node
 *   1.31.1), B0 at 224 has 8 cuts around 1 ms stages: +15–16% over the whole network; V2-S at 384: +1–5%.
 *
 * Either way the whole network is also timed unprofiled (what `CpuModel.run` runs), and the stages are set against it.
 */
import { EffnetError } from '../errors.js';
import { layerOps, type NetOp } from '../model/layers.js';
import { paramTensors } from '../model/ops.js';
import { seededUniform } from '../prng.js';
import type { KernelProfile, Profile, StageProfile, Timing } from '../profile.js';
import { spread, type Spread } from '../stats.js';
import { passGraph, peerGraph, type GTensor, type PeerGraph } from './graph.js';
import type { CpuModel } from './model.js';
import { modelFileBytes, type PeerFormat } from './model-files.js';
import type { CpuRuntime, CpuSession } from './runtime.js';

/**
 * A CPU profile: the GPU `Profile`'s stages and totals, with the CPU runtime in place of the adapter and schedule.
 * `totalMs`: the median over rounds of the stages' summed times (as the GPU profile's); `unprofiledMs`: the median of
 * the whole network as one model file; `overheadPct`: how much slower the stages summed were than that.
 */
export interface CpuProfile extends Omit<Profile, 'adapter' | 'schedule' | 'timer' | 'timerResolutionNs' | 'detail'> {
  backend: 'cpu';
  /** The runtime that ran the model files, e.g. 'onnxruntime-node 1.31.1, its default intra-op threads'. */
  runtime: { name: CpuRuntime['name']; format: PeerFormat; detail: string };
  /**
   * 'trace': the runtime's per-node profiler over whole-network runs (`overheadPct`: its runs against unprofiled
   * ones); 'wall': a model file per stage, `performance.now()` around each call (`overheadPct`: the stages summed
   * against the whole network).
   */
  timer: 'trace' | 'wall';
  timerResolutionNs: null;
  /** Per-op times would need a model file per op; each stage's ops are listed with FLOPs and bytes, untimed. */
  detail: false;
}

export interface CpuProfileOptions {
  batch?: number;
  res?: number;
  /** Timed rounds (each runs the whole network and every stage once); default 10. */
  runs?: number;
  /**
   * Untimed rounds first: at least `warmup` of them (default 2), and for at least `warmupMs` (default 1000). A process's
   * first runs are slow: the runtime copies each stage's output into a fresh buffer, and until the garbage collector
   * has recycled some, every 4 KiB of them is a page fault (B0's 1.6 MB stem output took 5–10 ms instead of 0.5 here
   * for its first ~50 runs); the whole network's output is a few KB.
   */
  warmup?: number;
  warmupMs?: number;
  /** Seed of the random inputs (src/prng.ts). */
  seed?: number;
  /** 'trace' where the runtime has a per-node profiler (onnxruntime-node), else 'split' (the default); 'split' on any runtime. */
  method?: 'trace' | 'split';
  log?: (line: string) => void;
}

const elements = (t: { C: number; H: number; W: number }): number => t.C * t.H * t.W;

/** Bytes one op moves, estimated from its shapes: activations read and written, plus its (BatchNorm-folded) weights and biases. */
function opBytes(op: NetOp, batch: number, weights: number): number {
  const activations = elements(op.in) + elements(op.out) + (op.res === undefined ? 0 : elements(op.out)) + (op.gate === undefined ? 0 : op.in.C);
  return 4 * (batch * activations + weights);
}

const timing = (ms: Spread, sum: number, flops: number, bytes: number): Timing => ({
  ms,
  share: ms.median / sum,
  gflops: flops / ms.median / 1e6,
  gbps: bytes / ms.median / 1e6,
});

const untimed: Timing = { ms: null, share: null, gflops: null, gbps: null };

interface Timed {
  session: CpuSession;
  input: Float32Array;
  samples: number[];
}

export async function profileCpuModel(model: CpuModel, opts: CpuProfileOptions = {}): Promise<CpuProfile> {
  const batch = opts.batch ?? 1;
  const res = opts.res ?? model.spec.resolution;
  const runs = opts.runs ?? 10;
  const warmup = opts.warmup ?? 2;
  const warmupMs = opts.warmupMs ?? 1000;
  const seed = opts.seed ?? 1;
  const log = opts.log ?? (() => undefined);
  for (const [name, v] of [['batch', batch], ['res', res], ['runs', runs]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new EffnetError('INPUT', `${name} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(warmup) || warmup < 0) throw new EffnetError('INPUT', `warmup must be a non-negative integer, got ${warmup}`);
  if (!(warmupMs >= 0)) throw new EffnetError('INPUT', `warmupMs must be a non-negative number, got ${warmupMs}`);
  if (res < 8) throw new EffnetError('INPUT', `res must be at least 8 (EfficientNet downsamples 32×), got ${res}`);
  const { spec } = model;
  const { params, runtime } = model.profilerView();
  const ops = layerOps(spec, res);
  const passes = [...new Set(ops.map((o) => o.pass))];
  const whole = peerGraph(spec, params, res, batch);
  const shape = (t: GTensor) => (runtime.layout === 'NCHW' ? [batch, t.C, t.H, t.W] : [batch, t.H, t.W, t.C]);
  const randomInput = (t: GTensor, i: number) => {
    const u = seededUniform(seed + i);
    return Float32Array.from({ length: batch * elements(t) }, () => 2 * u() - 1);
  };

  const method = opts.method ?? (runtime.trace ? 'trace' : 'split');
  if (method !== 'trace' && method !== 'split') throw new EffnetError('INPUT', `method must be 'trace' or 'split', got '${String(method)}'`);
  const measured = method === 'trace'
    ? await traced(runtime, whole, passes, { res, batch, runs, warmup, warmupMs, input: randomInput(whole.input, 0), spec, params, shape: shape(whole.input), log })
    : await split(runtime, whole, passes, { res, batch, runs, warmup, warmupMs, spec, params, shape, randomInput, log });
  const stageMs = measured.stageSamples.map((samples) => spread(samples));
  const stageSum = stageMs.reduce((a, s) => a + s.median, 0);
  const { totalMs, unprofiledMs, overheadPct } = measured;
  const weightsOf = new Map<NetOp, number>();
  // Weight and bias of each tensor (BatchNorm folded into them).
  for (const t of paramTensors(ops)) weightsOf.set(t.op, (weightsOf.get(t.op) ?? 0) + t.shape.reduce((a, d) => a * d, 1) + t.shape[0]!);
  const stages = passes.map((pass, si): StageProfile => {
    const passOps = ops.filter((o) => o.pass === pass);
    const kernels = passOps.map((o): KernelProfile => ({
      name: o.name,
      kernel: o.op.kind,
      block: o.block,
      resolution: `${o.in.H}×${o.in.W}`,
      ...untimed,
      flops: batch * o.flops,
      bytes: opBytes(o, batch, weightsOf.get(o) ?? 0),
    }));
    const flops = kernels.reduce((a, k) => a + k.flops, 0);
    const bytes = kernels.reduce((a, k) => a + k.bytes, 0);
    return { name: pass, block: passOps[0]!.block, resolution: kernels[0]!.resolution, ...timing(stageMs[si]!, stageSum, flops, bytes), flops, bytes, kernels };
  });
  return {
    backend: 'cpu',
    arch: spec.name,
    batch,
    res,
    runs,
    runtime: { name: runtime.name, format: runtime.format, detail: runtime.detail },
    timer: method === 'trace' ? 'trace' : 'wall',
    timerResolutionNs: null,
    detail: false,
    totalMs,
    unprofiledMs,
    overheadPct,
    stages,
  };
}

interface Measured {
  /** Per stage, one time per timed run (ms). */
  stageSamples: number[][];
  totalMs: number;
  unprofiledMs: number;
  overheadPct: number;
}

interface Common {
  res: number;
  batch: number;
  runs: number;
  warmup: number;
  warmupMs: number;
  spec: CpuModel['spec'];
  params: ReturnType<CpuModel['profilerView']>['params'];
  log: (line: string) => void;
}

/** Calls `once` in rounds until `warmup` rounds and `warmupMs` have passed; how many it took. */
async function warmUp(once: () => Promise<unknown>, warmup: number, warmupMs: number): Promise<number> {
  const start = performance.now();
  let rounds = 0;
  for (; rounds < warmup || performance.now() - start < warmupMs; rounds++) await once();
  return rounds;
}

/** The whole network's unprofiled wall time per run (what CpuModel.run runs), after a warm-up. */
async function wholeWall(runtime: CpuRuntime, file: Uint8Array, shape: readonly number[], input: Float32Array, c: Common): Promise<number[]> {
  const session = await runtime.compile(file, shape, 'logits');
  try {
    const once = async () => {
      const t0 = performance.now();
      await session.run(input);
      return performance.now() - t0;
    };
    await warmUp(once, c.warmup, c.warmupMs);
    const samples: number[] = [];
    for (let r = 0; r < c.runs; r++) samples.push(await once());
    return samples;
  } finally {
    session.release();
  }
}

/** 'trace': the runtime's per-node profile of whole-network runs, each node's time added to its tensor's stage. */
async function traced(runtime: CpuRuntime, whole: PeerGraph, passes: string[], c: Common & { input: Float32Array; shape: readonly number[] }): Promise<Measured> {
  const file = await modelFileBytes(runtime.format, c.spec, c.params, { res: c.res, batch: c.batch });
  c.log(`timing ${c.runs} unprofiled run${c.runs === 1 ? '' : 's'} of the whole network, then ${c.runs} under ${runtime.name}'s profiler`);
  const wall = await wholeWall(runtime, file, c.shape, c.input, c);
  // The profiled session is a new one: its first runs warm up again and are dropped.
  const skip = Math.max(c.warmup, 3);
  const runs = (await runtime.trace!(file, c.shape, c.input, skip + c.runs)).slice(skip);
  const passOf = new Map(whole.nodes.map((n, i) => [n.y.name, whole.passes[i]!]));
  const stageOf = (name: string): string | undefined => passOf.get(/^(.*?#\d+)/.exec(name)?.[1] ?? '');
  const unknown = new Set<string>();
  const stageSamples = passes.map(() => [] as number[]);
  for (const run of runs) {
    const sums = new Map<string, number>(passes.map((p) => [p, 0]));
    let previous = passes[0]!;
    // A reorder into the blocked layout belongs to the node it feeds: held until the next named node.
    let pending = 0;
    for (const n of run.nodes) {
      const stage = stageOf(n.name);
      if (stage === undefined) {
        if (n.op === 'ReorderInput') pending += n.ms;
        else {
          if (n.op !== 'ReorderOutput') unknown.add(n.name);
          sums.set(previous, sums.get(previous)! + n.ms);
        }
        continue;
      }
      sums.set(stage, sums.get(stage)! + n.ms + pending);
      pending = 0;
      previous = stage;
    }
    sums.set(previous, sums.get(previous)! + pending);
    passes.forEach((p, i) => stageSamples[i]!.push(sums.get(p)!));
  }
  if (unknown.size) c.log(`${unknown.size} node name(s) named no tensor of ours, counted with the node before: ${[...unknown].slice(0, 5).join(', ')}`);
  const unprofiledMs = spread(wall).median;
  return {
    stageSamples,
    totalMs: spread(runs.map((_, r) => stageSamples.reduce((a, s) => a + s[r]!, 0))).median,
    unprofiledMs,
    overheadPct: ((spread(runs.map((r) => r.ms)).median - unprofiledMs) / unprofiledMs) * 100,
  };
}

/** 'split': each stage as a model file of its own, timed alone, in rounds with the whole network. */
async function split(
  runtime: CpuRuntime,
  whole: PeerGraph,
  passes: string[],
  c: Common & { shape: (t: GTensor) => number[]; randomInput: (t: GTensor, i: number) => Float32Array },
): Promise<Measured> {
  c.log(`writing and compiling ${c.spec.name} for batch ${c.batch} at ${c.res}×${c.res} on ${runtime.detail}: the whole network and ${passes.length} stages, a ${runtime.format} file each`);
  const timed: Timed[] = [];
  try {
    // Index 0: the whole network; then the passes in network order.
    for (const [i, pass] of [undefined, ...passes].entries()) {
      const g = pass === undefined ? whole : passGraph(whole, pass);
      const file = await modelFileBytes(runtime.format, c.spec, c.params, { res: c.res, batch: c.batch, ...(pass ? { pass } : {}) });
      const session = await runtime.compile(file, c.shape(g.input), g.output.name, g.input.name);
      timed.push({ session, input: c.randomInput(g.input, i), samples: [] });
    }
    const once = async (t: Timed) => {
      const t0 = performance.now();
      await t.session.run(t.input);
      return performance.now() - t0;
    };
    const rounds = await warmUp(async () => {
      for (const t of timed) await once(t);
    }, c.warmup, c.warmupMs);
    c.log(`warmed up: ${rounds} round${rounds === 1 ? '' : 's'}; timing ${c.runs}: the whole network, then every stage`);
    for (let r = 0; r < c.runs; r++) for (const t of timed) t.samples.push(await once(t));
  } finally {
    for (const t of timed) t.session.release();
  }
  const [net, ...stageRuns] = timed as [Timed, ...Timed[]];
  const totalMs = spread(Array.from({ length: c.runs }, (_, r) => stageRuns.reduce((a, t) => a + t.samples[r]!, 0))).median;
  const unprofiledMs = spread(net.samples).median;
  return { stageSamples: stageRuns.map((t) => t.samples), totalMs, unprofiledMs, overheadPct: ((totalMs - unprofiledMs) / unprofiledMs) * 100 };
}
