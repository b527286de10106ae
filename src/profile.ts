/**
 * Per-stage GPU latency. The profiled inference records exactly the schedule an unprofiled one does (one
 * compute pass per stage: stem, each table stage, head) and adds `timestampWrites` to those passes; in
 * detail mode every kernel gets its own pass. All queries are resolved once per inference into one
 * buffer and read back after the run. Without `timestamp-query` the whole submit is timed instead,
 * which only gives the total: per-stage and per-kernel times are then null, never estimates.
 */
import { EffnetError } from './errors.js';
import type { AdapterReport } from './gpu.js';
import { instrument, type OpView } from './runtime/instrument.js';
import type { Model, ScheduleTarget } from './runtime/model.js';
import { interleave, PassTimer, timerKind, type TimerKind } from './runtime/timing.js';
import { spread, type Spread } from './stats.js';

/** What a timed unit (stage or kernel) achieved; all null when the timer cannot see it. */
export interface Timing {
  ms: Spread | null;
  /** Of the summed medians of all stages (or, for kernels, of all kernels). */
  share: number | null;
  gflops: number | null;
  gbps: number | null;
}

export interface KernelProfile extends Timing {
  name: string;
  kernel: string;
  block: string;
  /** Input resolution of the kernel (H×W). */
  resolution: string;
  flops: number;
  bytes: number;
}

export interface StageProfile extends Timing {
  name: string;
  block: string;
  /** Input resolution of the stage's first op (H×W). */
  resolution: string;
  flops: number;
  bytes: number;
  /** Kernel timings only in detail mode (a pass per kernel); FLOPs and bytes always. */
  kernels: KernelProfile[];
}

export interface Profile {
  arch: string;
  batch: number;
  res: number;
  runs: number;
  adapter: AdapterReport;
  /** The schedule profiled: shaped for which device class, with which tuning. */
  schedule: ScheduleTarget;
  /** 'submit': wall time of whole inferences (submit to read-back), coarser and with no per-stage split. */
  timer: TimerKind;
  /**
   * The quantum of the GPU timestamps actually seen: the greatest common divisor of every raw timestamp
   * delta (Chrome without developer features, and Dawn by default, round them to ~100 µs / 65536 ns).
   * Null for the submit timer, or when every delta was zero.
   */
  timerResolutionNs: number | null;
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
  /** Progress lines (compiling, warming up, timing). */
  log?: (line: string) => void;
}

/** Greatest common divisor of the non-zero deltas (ns): the timestamp quantum in effect, or null. */
export function timestampQuantumNs(deltas: Iterable<bigint>): number | null {
  let g = 0n;
  for (let d of deltas) {
    if (d < 0n) d = -d;
    while (d !== 0n) [g, d] = [d, g % d];
  }
  return g === 0n ? null : Number(g);
}

const timing = (ms: Spread | null, total: number, flops: number, bytes: number): Timing =>
  ms === null
    ? { ms: null, share: null, gflops: null, gbps: null }
    : { ms, share: ms.median / total, gflops: flops / ms.median / 1e6, gbps: bytes / ms.median / 1e6 };

export async function profileModel(model: Model, opts: ProfileOptions = {}): Promise<Profile> {
  const batch = opts.batch ?? 1;
  const res = opts.res ?? model.spec.resolution;
  const runs = opts.runs ?? 10;
  const detail = !!opts.detail;
  const log = opts.log ?? (() => undefined);
  for (const [name, v] of [['batch', batch], ['res', res], ['runs', runs]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new EffnetError('INPUT', `${name} must be a positive integer, got ${v}`);
  }
  // The same floor as a run's input: EfficientNet downsamples 32×.
  if (res < 8) throw new EffnetError('INPUT', `res must be at least 8 (EfficientNet downsamples 32×), got ${res}`);
  log(`compiling ${model.spec.name} for batch ${batch} at ${res}×${res}`);
  const schedule = await instrument(model, { batch, height: res, width: res });
  const input = new Float32Array(batch * 3 * res * res);
  for (let i = 0; i < input.length; i++) input[i] = Math.sin(i * 0.001);

  const groups = detail ? schedule.passes.flatMap((p) => p.ops.map((o) => [o])) : schedule.passes.map((p) => p.ops);
  const samples: number[][] = groups.map(() => []);
  const deltas: bigint[] = [];
  const timed = model.gpu.report.features.timestampQuery;
  const timer = timerKind(timed);
  const passTimer = timed ? new PassTimer(model.gpu.device, groups.length) : undefined;
  const wallMs = async (ts?: PassTimer) => {
    const t0 = performance.now();
    await schedule.run(input, ts?.plan(detail));
    return performance.now() - t0;
  };
  // A profiled run, its pass times taken from the timestamps.
  const profiled = async () => {
    const ms = await wallMs(passTimer);
    if (passTimer) {
      const t = await passTimer.ticks();
      for (const x of t) deltas.push(x - t[0]!);
      groups.forEach((_, g) => samples[g]!.push(Number(t[2 * g + 1]! - t[2 * g]!) / 1e6));
    }
    return ms;
  };
  let wall: number[];
  let totals: number[];
  try {
    // Warm up both kinds of run (first-run costs are not what a profile is about); they then alternate.
    log('warming up');
    await wallMs();
    if (passTimer) await wallMs(passTimer);
    log(`timing ${runs} unprofiled and ${runs} profiled run(s), interleaved (${timer}${detail ? ', a pass per kernel' : ''})`);
    ({ a: wall, b: totals } = await interleave(() => wallMs(), profiled, runs));
  } finally {
    passTimer?.destroy();
    schedule.release();
  }
  const unprofiledMs = spread(wall).median;

  // Attribute times to stages (in detail mode, sum each stage's kernels per run).
  const stageSamples = schedule.passes.map((p) => {
    const idx = groups.map((g, i) => (g[0]!.stage === p.stage ? i : -1)).filter((i) => i >= 0);
    return Array.from({ length: runs }, (_, r) => idx.reduce((a, i) => a + samples[i]![r]!, 0));
  });
  const stageMs = stageSamples.map((s) => (timed ? spread(s) : null));
  const stageSum = stageMs.reduce((a, s) => a + (s?.median ?? 0), 0);
  const kernelMs = new Map(groups.map((g, i) => [g[0]!, detail && timed ? spread(samples[i]!) : null]));
  const kernelSum = [...kernelMs.values()].reduce((a, s) => a + (s?.median ?? 0), 0);
  const resolution = (op: OpView) => `${op.inputSize.height}×${op.inputSize.width}`;
  const stages = schedule.passes.map((p, si): StageProfile => {
    const ops = p.ops;
    const flops = ops.reduce((a, o) => a + o.flops, 0);
    const bytes = ops.reduce((a, o) => a + o.bytes, 0);
    return {
      name: p.stage,
      block: ops[0]!.block,
      resolution: resolution(ops[0]!),
      ...timing(stageMs[si]!, stageSum, flops, bytes),
      flops,
      bytes,
      kernels: ops.map((o) => ({
        name: o.name,
        kernel: o.kernel,
        block: o.block,
        resolution: resolution(o),
        ...timing(kernelMs.get(o) ?? null, kernelSum, o.flops, o.bytes),
        flops: o.flops,
        bytes: o.bytes,
      })),
    };
  });
  const perRunTotal = Array.from({ length: runs }, (_, r) => stageSamples.reduce((a, s) => a + s[r]!, 0));
  const profiledWall = spread(totals).median;
  return {
    arch: model.spec.name,
    batch,
    res,
    runs,
    adapter: model.gpu.report,
    schedule: model.schedule,
    timer,
    timerResolutionNs: timed ? timestampQuantumNs(deltas) : null,
    detail,
    totalMs: timed ? spread(perRunTotal).median : profiledWall,
    unprofiledMs,
    overheadPct: ((profiledWall - unprofiledMs) / unprofiledMs) * 100,
    stages,
  };
}
