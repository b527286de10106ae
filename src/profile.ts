/**
 * Per-stage GPU latency. The profiled inference records exactly the schedule an unprofiled one does (one
 * compute pass per stage: stem, each table stage, head) and adds `timestampWrites` to those passes; in
 * detail mode every kernel gets its own pass. All queries are resolved once per inference into one
 * buffer and read back after the run. Without `timestamp-query` the whole submit is timed instead,
 * which only gives the total.
 */
import { EffnetError } from './errors.js';
import type { Model } from './runtime/model.js';
import type { Op } from './runtime/graph.js';

export interface Spread {
  median: number;
  p10: number;
  p90: number;
}

export interface KernelProfile {
  name: string;
  kernel: string;
  flops: number;
  bytes: number;
  /** Per-kernel GPU time, in detail mode only. */
  ms?: Spread;
}

export interface StageProfile {
  name: string;
  block: string;
  /** Input resolution of the stage's first op (H×W). */
  resolution: string;
  ms: Spread;
  share: number;
  flops: number;
  bytes: number;
  gflops: number;
  gbps: number;
  kernels: KernelProfile[];
}

export interface Profile {
  arch: string;
  batch: number;
  res: number;
  runs: number;
  timer: 'timestamp-query' | 'submit';
  detail: boolean;
  /** Median of the profiled runs' per-stage sums (timestamp mode) or of the submit times. */
  totalMs: number;
  /** Median wall time of unprofiled runs of the same schedule (submit to read-back). */
  unprofiledMs: number;
  /** How much slower the profiled run was, in percent of the unprofiled one. */
  overheadPct: number;
  stages: StageProfile[];
}

export interface ProfileOptions {
  batch?: number;
  res?: number;
  runs?: number;
  /** A pass per kernel instead of per stage. */
  detail?: boolean;
}

const spread = (xs: number[]): Spread => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!;
  return { median: at(0.5), p10: at(0.1), p90: at(0.9) };
};

export async function profileModel(model: Model, opts: ProfileOptions = {}): Promise<Profile> {
  const batch = opts.batch ?? 1;
  const res = opts.res ?? model.spec.resolution;
  const runs = opts.runs ?? 10;
  const detail = !!opts.detail;
  if (!Number.isInteger(runs) || runs < 1) throw new EffnetError('INPUT', `runs must be a positive integer, got ${runs}`);
  const { device } = model.gpu;
  const plan = await model.schedule(batch, res, res);
  const input = new Float32Array(batch * 3 * res * res);
  for (let i = 0; i < input.length; i++) input[i] = Math.sin(i * 0.001);

  // Warm up (first-run costs are not what a profile is about), then time unprofiled runs.
  await model.execute(plan, input, []);
  const wall: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await model.execute(plan, input, []);
    wall.push(performance.now() - t0);
  }
  const unprofiledMs = spread(wall).median;

  const groups = detail ? plan.compiled.passes.flatMap((p) => p.ops.map((c) => [c.op])) : plan.compiled.passes.map((p) => p.ops.map((c) => c.op));
  const samples: number[][] = groups.map(() => []);
  const totals: number[] = [];
  let timer: Profile['timer'] = 'submit';
  if (model.gpu.report.features.timestampQuery) {
    timer = 'timestamp-query';
    const count = 2 * groups.length;
    const querySet = device.createQuerySet({ type: 'timestamp', count });
    const resolved = device.createBuffer({ size: count * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const readback = device.createBuffer({ size: count * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        await model.execute(plan, input, [], {
          querySet,
          perOp: detail,
          resolve: (enc) => {
            enc.resolveQuerySet(querySet, 0, count, resolved, 0);
            enc.copyBufferToBuffer(resolved, 0, readback, 0, count * 8);
          },
        });
        totals.push(performance.now() - t0);
        await readback.mapAsync(GPUMapMode.READ);
        const t = new BigUint64Array(readback.getMappedRange().slice(0));
        readback.unmap();
        groups.forEach((_, g) => samples[g]!.push(Number(t[2 * g + 1]! - t[2 * g]!) / 1e6));
      }
    } finally {
      querySet.destroy();
      resolved.destroy();
      readback.destroy();
    }
  } else {
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      await model.execute(plan, input, []);
      totals.push(performance.now() - t0);
    }
  }

  // Attribute times to stages (in detail mode, sum each stage's kernels per run).
  const stageNames = plan.compiled.passes.map((p) => p.stage);
  const stageSamples = stageNames.map((name) => {
    if (timer === 'submit') return [];
    const idx = groups.map((g, i) => (g[0]!.stage === name ? i : -1)).filter((i) => i >= 0);
    return Array.from({ length: runs }, (_, r) => idx.reduce((a, i) => a + samples[i]![r]!, 0));
  });
  const perRunTotal = Array.from({ length: runs }, (_, r) => stageSamples.reduce((a, s) => a + (s[r] ?? 0), 0));
  const totalMs = timer === 'timestamp-query' ? spread(perRunTotal).median : spread(totals).median;
  const stageSum = stageSamples.reduce((a, x) => a + (x.length ? spread(x).median : 0), 0);
  const stages = plan.compiled.passes.map((p, si): StageProfile => {
    const ops: Op[] = p.ops.map((c) => c.op);
    const flops = ops.reduce((a, o) => a + o.flops, 0);
    const bytes = ops.reduce((a, o) => a + o.bytes, 0);
    const ms = timer === 'timestamp-query' ? spread(stageSamples[si]!) : { median: NaN, p10: NaN, p90: NaN };
    const first = plan.built.tensors.find((t) => Object.values(ops[0]!.bind).some((r) => 'tensor' in r && r.tensor === t.id))!;
    return {
      name: p.stage,
      block: ops[0]!.block,
      resolution: `${first.shape.h}×${first.shape.w}`,
      ms,
      share: ms.median / stageSum,
      flops,
      bytes,
      gflops: flops / ms.median / 1e6,
      gbps: bytes / ms.median / 1e6,
      kernels: ops.map((o) => {
        const g = detail ? groups.findIndex((x) => x[0] === o) : -1;
        return { name: o.name, kernel: o.kernel, flops: o.flops, bytes: o.bytes, ...(g >= 0 ? { ms: spread(samples[g]!) } : {}) };
      }),
    };
  });
  const profiledWall = spread(totals).median;
  return {
    arch: model.spec.name,
    batch,
    res,
    runs,
    timer,
    detail,
    totalMs,
    unprofiledMs,
    overheadPct: ((profiledWall - unprofiledMs) / unprofiledMs) * 100,
    stages,
  };
}
