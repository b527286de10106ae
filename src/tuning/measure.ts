/**
 * On-device tuning: the planners' tiles come from rules and a cost model; this measures. For every distinct
 * tunable launch of a model's schedule (src/kernels/tuning.ts: same kernel, uniforms and fusions = same key),
 * it times the planned tile and up to `maxCandidates` others — each launch alone, repeated in one compute
 * pass between GPU timestamps (whole submits where `timestamp-query` is missing) — and keeps the fastest.
 * The planned tiles are timed once each first, to rank the launches.
 * Candidates of a launch compile in parallel, and compile time is counted apart from run time. Launches are
 * tuned in order of the GPU time they take in the model (planned time × layers), and tuning stops starting new
 * ones once `budgetS` is spent (the first is tuned whatever the budget). Only tile overrides the kernel's WGSL
 * allows change (src/kernels/tile-space.ts), so the tuned schedule computes the same values — and, since a
 * compiler can still get one tile wrong on one device, every candidate's output is first compared on the device
 * with the planned tile's, over the same seeded inputs: a candidate that differs is reported and never timed.
 */
import { createBuffer } from '../buffers.js';
import { EffnetError } from '../errors.js';
import type { AdapterReport } from '../gpu.js';
import { random } from '../kernels/cases.js';
import { encodeDispatch, type Dispatch } from '../kernels/launch.js';
import { pipelineKey, type Overrides } from '../kernels/library.js';
import { kernelEntry } from '../kernels/registry.js';
import { isTunable, tileCandidates, tuningKey, withTile } from '../kernels/tuning.js';
import { compare } from '../reference/compare.js';
import { TOL } from '../reference/tolerances.js';
import { instrument, type OpView } from '../runtime/instrument.js';
import type { Model } from '../runtime/model.js';
import { interleave, repsFor, timeDispatches, timerKind, type TimerKind } from '../runtime/timing.js';
import { median } from '../stats.js';
import type { TuningChoice } from './file.js';
import { MODEL_TOLERANCE } from '../tolerance.js';
import { errorStats } from '../verify.js';

export interface TuneOptions {
  batch?: number;
  /** Square input size (default: the model's resolution); `height`/`width` give another shape. */
  res?: number;
  height?: number;
  width?: number;
  /** The runs' layout and output (default NCHW logits): the schedule tuned is the one those runs take. */
  layout?: 'nchw' | 'nhwc';
  softmax?: boolean;
  /** Seconds after which no further launch starts being tuned (default 60). */
  budgetS?: number;
  /** Tiles timed per launch, the planned one included (default 8). */
  maxCandidates?: number;
  /** Tune only the launches of these kernels (default: every tunable one), e.g. ['dwconv'] while working on it. */
  kernels?: readonly string[];
  log?: (line: string) => void;
}

export interface TunedLaunch {
  kernel: string;
  key: string;
  /** The graph ops (layers) that run this launch. */
  ops: string[];
  planned: Overrides;
  chosen: Overrides;
  plannedMs: number;
  ms: number;
  /** Candidates timed (those whose output matched the planned tile's). */
  tried: number;
  /** Candidates whose output differed from the planned tile's on this device: never timed, never chosen. */
  rejected: { tile: Overrides; why: string }[];
  compileMs: number;
}

export interface TuneResult {
  adapter: AdapterReport;
  arch: string;
  res: number;
  batch: number;
  target: 'gpu' | 'fallback';
  timer: TimerKind;
  budgetS: number;
  /** Wall seconds spent tuning (the budget's clock), and how much of it went to compiling candidates and to timing launches. */
  spentS: number;
  /** Compiling the planned schedule first, outside the budget. */
  scheduleCompileMs: number;
  compileMs: number;
  timingMs: number;
  /** Distinct tunable launches in the schedule, and how many were tuned within the budget. */
  launches: number;
  tuned: number;
  /** Candidate tiles timed, over all tuned launches. */
  candidates: number;
  /** Candidates rejected by the output check, over all tuned launches. */
  rejected: number;
  /** Per tuned launch: planned and chosen tile and their times. */
  choices: TunedLaunch[];
  /** The same, as tuning-file entries (src/tuning-file.ts). */
  tuning: TuningChoice[];
}

/** GPU work per timing sample: enough that timer resolution and submit overhead do not matter. */
const SAMPLE_MS = 4;
const MAX_REPS = 64;
/** Samples per tile, taken in rounds over all of a launch's tiles so that drift in machine load hits each alike. */
const ROUNDS = 5;
/**
 * A candidate replaces the planned tile only when it is at least this much faster alone: a launch timed alone
 * (repeated, its data hot in cache) gains more than it does among the network's other launches.
 */
const MIN_GAIN = 0.05;

export async function tuneModel(model: Model, opts: TuneOptions = {}): Promise<TuneResult> {
  const batch = opts.batch ?? 1;
  const res = opts.res ?? model.spec.resolution;
  const height = opts.height ?? res;
  const width = opts.width ?? res;
  const budgetS = opts.budgetS ?? 60;
  const maxCandidates = opts.maxCandidates ?? 8;
  const log = opts.log ?? (() => undefined);
  for (const [name, v] of [['batch', batch], ['height', height], ['width', width], ['maxCandidates', maxCandidates]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new EffnetError('INPUT', `tune: ${name} must be a positive integer, got ${v}`);
  }
  if (!(budgetS > 0)) throw new EffnetError('INPUT', `tune: budgetS must be a positive number of seconds, got ${budgetS}`);
  const { device } = model.gpu;
  const lib = model.lib;
  log(`compiling the schedule of ${model.spec.name} for batch ${batch} at ${height}×${width}`);
  const c = performance.now();
  const schedule = await instrument(model, { batch, height, width, layout: opts.layout, softmax: opts.softmax });
  const scheduleCompileMs = performance.now() - c;
  // The budget is for tuning: the planned schedule's own compile (which every load pays) is reported apart.
  const t0 = performance.now();

  const groups = new Map<string, OpView[]>();
  for (const op of schedule.passes.flatMap((p) => p.ops)) {
    if (!isTunable(op.kernel) || (opts.kernels && !opts.kernels.includes(op.kernel))) continue;
    const key = tuningKey(op);
    groups.set(key, [...(groups.get(key) ?? []), op]);
  }
  const timestamps = model.gpu.report.features.timestampQuery;
  let compileMs = 0;
  let timingMs = 0;
  let candidates = 0;
  let rejectedCount = 0;

  // Per tile, the median of ROUNDS samples, each repeating the launch for about SAMPLE_MS of GPU time; the
  // tiles take turns within every round, each in a submit of its own.
  const time = async (ds: Dispatch[], rounds = ROUNDS): Promise<number[]> => {
    const start = performance.now();
    const sides = ds.map((d) => [d]);
    const probe = await timeDispatches(device, timestamps, sides, { runs: 1, reps: 1, label: 'tune' });
    const ms = await timeDispatches(device, timestamps, sides, { runs: rounds, reps: probe.map((p) => repsFor(p, SAMPLE_MS, 1e-3, MAX_REPS)), label: 'tune' });
    timingMs += performance.now() - start;
    return ms;
  };

  try {
    return await schedule.exclusive(async () => {
      log(`timing the planned tile of ${groups.size} distinct launches (${timestamps ? 'GPU timestamps' : 'whole submits'})`);
      const planned = new Map<string, number>();
      // One sample each: enough to rank the launches; each is timed again among its candidates.
      for (const [key, ops] of groups) planned.set(key, (await time([ops[0]!.dispatch], 1))[0]!);
      const order = [...groups.keys()].sort((a, b) => planned.get(b)! * groups.get(b)!.length - planned.get(a)! * groups.get(a)!.length);
      const choices: TunedLaunch[] = [];
      for (const key of order) {
        const spent = (performance.now() - t0) / 1000;
        // The most expensive launch is always tuned, however small the budget.
        if (spent >= budgetS && choices.length > 0) {
          log(`budget of ${budgetS} s spent after ${choices.length} of ${groups.size} launches`);
          break;
        }
        const ops = groups.get(key)!;
        const op = ops[0]!;
        const launch = { kernel: op.kernel, overrides: op.overrides, uniforms: op.uniforms, workgroups: 0 };
        const tiles = tileCandidates(launch, maxCandidates);
        const c0 = performance.now();
        const pipelines = await Promise.all(tiles.map((t) => lib.pipeline(op.kernel, withTile(launch, t).overrides)));
        const compile = performance.now() - c0;
        compileMs += compile;
        const all = tiles.map((t, i): Dispatch => (i === 0 ? op.dispatch : { pipeline: pipelines[i]!, bindGroup: op.dispatch.bindGroup, grid: lib.grid(withTile(launch, t).workgroups) }));
        const verdicts = await sameOutputs(device, op, all);
        const rejected = verdicts.flatMap((why, i) => (why === undefined ? [] : [{ tile: tiles[i]!, why }]));
        for (const r of rejected) log(`${op.kernel} ${fmtTile(r.tile)}: rejected, its output differs from the planned tile's on this device (${r.why})`);
        const usable = tiles.flatMap((t, i) => (verdicts[i] === undefined ? [{ tile: t, d: all[i]! }] : []));
        // The planned tile is timed again among its candidates, so all of them see the same conditions.
        const ms = await time(usable.map((u) => u.d));
        planned.set(key, ms[0]!);
        let best = { tile: usable[0]!.tile, ms: ms[0]! };
        ms.forEach((m, i) => {
          if (m < best.ms && m < ms[0]! * (1 - MIN_GAIN)) best = { tile: usable[i]!.tile, ms: m };
        });
        candidates += usable.length;
        rejectedCount += rejected.length;
        choices.push({ kernel: op.kernel, key, ops: ops.map((o) => o.name), planned: tiles[0]!, chosen: best.tile, plannedMs: planned.get(key)!, ms: best.ms, tried: usable.length, rejected, compileMs: compile });
        const ratio = planned.get(key)! / best.ms;
        log(`${op.kernel.padEnd(16)} ×${String(ops.length).padEnd(2)} ${fmtTile(best.tile).padEnd(34)} ${best.ms.toFixed(3)} ms (planned ${planned.get(key)!.toFixed(3)} ms, ${ratio.toFixed(2)}×; ${usable.length} tiles${rejected.length ? `, ${rejected.length} rejected` : ''}, compile ${(compile / 1000).toFixed(1)} s)  ${op.name}`);
      }
      return {
        adapter: model.gpu.report,
        arch: model.spec.name,
        res: height,
        batch,
        target: model.schedule.target,
        timer: timerKind(timestamps),
        budgetS,
        spentS: (performance.now() - t0) / 1000,
        scheduleCompileMs,
        compileMs,
        timingMs,
        launches: groups.size,
        tuned: choices.length,
        candidates,
        rejected: rejectedCount,
        choices,
        tuning: choices.map((c) => ({ kernel: c.kernel, key: c.key, tile: c.chosen, ms: c.ms, plannedMs: c.plannedMs, layers: c.ops.length, tried: c.tried })),
      } satisfies TuneResult;
    });
  } finally {
    schedule.release();
  }
}

const fmtTile = (t: Overrides) => Object.entries(t).map(([k, v]) => `${k}=${v}`).join(' ');

/**
 * Median wall time of whole inferences on two models (say, planned and tuned schedules of the same network on
 * one device), measured in alternating runs after a warm-up of each, so machine load biases neither; and how far
 * b's outputs are from a's on the same input (relL2), which for two tilings of one network must stay within
 * MODEL_TOLERANCE.retileRelL2.
 */
export async function compareModels(a: Model, b: Model, o: { batch?: number; res?: number; runs?: number } = {}): Promise<{ aMs: number; bMs: number; ratio: number; relL2: number }> {
  const batch = o.batch ?? 1;
  const res = o.res ?? a.spec.resolution;
  const runs = o.runs ?? 10;
  const input = { data: Float32Array.from({ length: batch * 3 * res * res }, (_, i) => Math.sin(i * 0.001)), shape: [batch, 3, res, res] };
  const outputs = new Map<Model, Float32Array>();
  const wall = async (m: Model) => {
    const t = performance.now();
    outputs.set(m, await m.run(input, { tier: 'tuned' }));
    return performance.now() - t;
  };
  await wall(a);
  await wall(b);
  const ms = await interleave(() => wall(a), () => wall(b), runs);
  const aMs = median(ms.a);
  const bMs = median(ms.b);
  return { aMs, bMs, ratio: bMs / aMs, relL2: errorStats(outputs.get(b)!, outputs.get(a)!).relL2 };
}

/** Two tilings' logits agree (compareModels' relL2) within this. */
export const RETILE_REL_L2 = MODEL_TOLERANCE.retileRelL2;

/**
 * Whether each dispatch of `op` (its candidate tiles, the planned one first) computes what the first does: the
 * op's input activations are filled with seeded values, every output is pre-filled with NaN (so a slot a tile
 * never writes shows), each candidate runs once, and its outputs are compared with the planned tile's under
 * TOL.retile. Per dispatch: undefined when it matches, else why not. Runs inside the schedule's `exclusive`, so
 * the activations it overwrites belong to no inference.
 */
async function sameOutputs(device: GPUDevice, op: OpView, dispatches: Dispatch[]): Promise<(string | undefined)[]> {
  const kinds = new Map(kernelEntry(op.kernel).bindings.map((b) => [b.name, b.kind]));
  const ranges = Object.entries(op.bindings).flatMap(([name, b]) => ('tensor' in b ? [{ name, kind: kinds.get(name), range: b.tensor }] : []));
  const inputs = ranges.filter((r) => r.kind === 'read-only-storage');
  const outputs = ranges.filter((r) => r.kind === 'storage');
  let seed = 7;
  for (const r of inputs) {
    const data = random((r.range.size ?? r.range.buffer.size) / 4, (seed += 13), -1, 1);
    device.queue.writeBuffer(r.range.buffer, r.range.offset ?? 0, data as Float32Array<ArrayBuffer>);
  }
  const size = (r: (typeof outputs)[number]) => r.range.size ?? r.range.buffer.size;
  const largest = Math.max(16, ...outputs.map(size));
  const made: GPUBuffer[] = [];
  const nan = createBuffer(device, { label: 'tune.nan', bytes: largest, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, data: new Float32Array(largest / 4).fill(NaN) });
  made.push(nan);
  const staging = outputs.map((r) => {
    const b = device.createBuffer({ label: `tune.check.${r.name}`, size: size(r), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    made.push(b);
    return b;
  });
  const run = async (d: Dispatch): Promise<Float32Array[] | string> => {
    device.pushErrorScope('validation');
    const enc = device.createCommandEncoder({ label: 'tune.check' });
    for (const r of outputs) enc.copyBufferToBuffer(nan, 0, r.range.buffer, r.range.offset ?? 0, size(r));
    const pass = enc.beginComputePass({ label: 'tune.check' });
    encodeDispatch(pass, d);
    pass.end();
    outputs.forEach((r, i) => enc.copyBufferToBuffer(r.range.buffer, r.range.offset ?? 0, staging[i]!, 0, size(r)));
    device.queue.submit([enc.finish()]);
    const err = await device.popErrorScope();
    if (err) return `WebGPU rejected it: ${err.message.split('\n')[0]}`;
    const out: Float32Array[] = [];
    for (const b of staging) {
      await b.mapAsync(GPUMapMode.READ);
      out.push(new Float32Array(b.getMappedRange().slice(0)));
      b.unmap();
    }
    return out;
  };
  try {
    const reference = await run(dispatches[0]!);
    if (typeof reference === 'string') throw new EffnetError('GPU_VALIDATION', `tune: the planned ${op.kernel} launch of ${op.name}: ${reference}`);
    const verdicts: (string | undefined)[] = [undefined];
    for (const d of dispatches.slice(1)) {
      const got = await run(d);
      if (typeof got === 'string') {
        verdicts.push(got);
        continue;
      }
      // Both NaN is agreement: a slot the planned tile leaves unwritten may stay unwritten.
      const bad = got
        .map((g, i) => compare(g.map((v, j) => (Number.isNaN(v) && Number.isNaN(reference[i]![j]!) ? 0 : v)), reference[i]!.map((v) => (Number.isNaN(v) ? 0 : v)), TOL.retile, outputs[i]!.name))
        .find((c) => !c.ok);
      verdicts.push(bad?.message);
    }
    return verdicts;
  } finally {
    for (const b of made) b.destroy();
  }
}

/** What a second load of a tuned model compiled (see tuningSecondLoad). */
export interface SecondLoad {
  /** Tuning entries the second model took for its adapter. */
  tuningEntries: number;
  /** Pipelines its library compiled, and whether they are exactly its schedule's (no candidate among them). */
  pipelines: number;
  onlyScheduled: boolean;
  /** Every layer with a tuning entry runs the chosen tile; how many of them differ from the planned one. */
  choicesApplied: boolean;
  launchesRetiled: number;
  /** Pipelines the tuning model's library compiled: the planned ones plus every candidate. */
  firstLoadPipelines: number;
}

/**
 * The second model reads the tuning the first one measured and compiles its schedule: its library then holds
 * exactly the pipelines of that schedule (no candidate), and the launches a choice retiled use the chosen tile.
 */
export async function tuningSecondLoad(first: Model, second: Model, result: TuneResult): Promise<SecondLoad> {
  const s = await instrument(second, { batch: result.batch, height: result.res, width: result.res });
  s.release();
  const ops = s.passes.flatMap((p) => p.ops);
  const scheduled = new Set(ops.map((o) => pipelineKey(o.kernel, o.overrides)));
  const compiled = second.lib.pipelineKeys();
  const byKey = new Map(result.choices.map((c) => [c.key, c]));
  let retiled = 0;
  let applied = true;
  for (const op of ops) {
    const c = isTunable(op.kernel) ? byKey.get(tuningKey(op)) : undefined;
    if (!c) continue;
    const takes = (t: Overrides) => Object.keys(t).every((k) => op.overrides[k] === t[k]);
    applied &&= takes(c.chosen);
    if (takes(c.chosen) && !takes(c.planned)) retiled++;
  }
  return {
    tuningEntries: second.schedule.tuning.entries,
    pipelines: compiled.length,
    onlyScheduled: compiled.length === scheduled.size && compiled.every((k) => scheduled.has(k)),
    choicesApplied: applied,
    launchesRetiled: retiled,
    firstLoadPipelines: first.lib.pipelineKeys().length,
  };
}
