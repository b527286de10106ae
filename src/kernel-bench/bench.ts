/**
 * `effnet kernel-bench`: a user's kernel for one op kind against ours, on every distinct layer shape the
 * model's schedule runs for that op and on generated edge launches of the same pipelines (edge.ts) —
 * correctness against the float64 CPU reference on NaN-filled outputs, twice (check.ts), GPU time of both from
 * timestamp queries in the same submits — and the whole network with the user's kernel in place of ours for
 * every layer of that op (bound over the same activations and weights), against the stock schedule in the
 * same run. Every workgroup count is bounded before anything runs, and every wait on the user's work has a
 * deadline. The schedule is seen only through runtime/instrument.ts; nothing here changes the model.
 */
import { createBuffer, readBuffer, storageBuffer } from '../buffers.js';
import { EffnetError, isEffnetError } from '../errors.js';
import type { AdapterReport } from '../gpu.js';
import { kernelEntry, reflectedKernel } from '../kernels/registry.js';
import { encodeDispatch, headerValues, launchOf, type Dispatch } from '../kernels/launch.js';
import { foldWorkgroups, layoutEntry, pipelineKey } from '../kernels/library.js';
import { overrideValues, type UniformValues } from '../kernels/reflect.js';
import type { Model } from '../runtime/model.js';
import { instrument, type InstrumentedSchedule, type OpView } from '../runtime/instrument.js';
import { denseRows } from '../runtime/tensor-io.js';
import { dispatchSamples, interleave, PassTimer, repsFor, timeDispatches, timerKind, type TimerKind } from '../runtime/timing.js';
import { median } from '../stats.js';
import { MODEL_TOLERANCE } from '../tolerance.js';
import { errorStats } from '../verify.js';
import { contractOf, OP_KERNELS, type BenchOp, type UserKernel } from './contract.js';
import { kernelCase } from '../kernels/ops.js';
import { checkOutput, indexDecoder, type OutputFailure } from './check.js';
import { edgeLaunches } from './edge.js';
import { adapterCeilings, type Ceilings } from './ceilings.js';

export interface KernelBenchOptions {
  batch?: number;
  res?: number;
  /** Timed runs per shape and per network side. */
  runs?: number;
  /** The model's own launches, the generated edge launches (edge.ts), or both (the default). */
  shapes?: ShapeSet;
  /** Seconds one dispatch of the user's kernel may take before it is abandoned (default DEFAULT_TIMEOUT_S). */
  timeoutS?: number;
  /**
   * Only the launches of these layers (module names, or prefixes of them: `features.2` is every layer of stage 2),
   * with the edge launches of their pipelines: to iterate on one shape fast. The network still swaps every layer.
   */
  layers?: readonly string[];
  /** Run the whole network with the kernel swapped in (default true). */
  network?: boolean;
  /** Measure (or read from the cache) the adapter's ceilings for the report's roofline (default true; ceilings.ts). */
  ceilings?: boolean;
  log?: (line: string) => void;
}

export type ShapeSet = 'model' | 'edge' | 'all';
export const SHAPE_SETS: readonly ShapeSet[] = ['model', 'edge', 'all'];

/**
 * How long one dispatch of the user's kernel may run: the slowest stock dispatch of any zoo model takes well under
 * a second even on SwiftShader, so ten seconds is a kernel that loops, not one that is slow.
 */
export const DEFAULT_TIMEOUT_S = 10;

/**
 * The most workgroups one launch of the user's kernel may have (below the device's
 * maxComputeWorkgroupsPerDimension² where that is lower): one workgroup per output vec4 of the largest layer of
 * any zoo model at batch 8 fits; a count past it is a wrong `// Dispatch:` line that would occupy the GPU for
 * minutes, so it is refused before anything runs.
 */
export const MAX_USER_WORKGROUPS = 2 ** 24;

/** A user dispatch that did not finish in time: the device is left running it, so the bench cannot go on. */
export class KernelTimeout extends EffnetError {
  constructor(message: string) {
    super('USER_KERNEL', message);
  }
}

export interface SideResult {
  /** Median GPU ms of one dispatch (null when the dispatch failed or the launch is untimed). */
  ms: number | null;
  /** The fastest and slowest of the timed runs: how far one run's number can be trusted. */
  minMs: number | null;
  maxMs: number | null;
  gflops: number | null;
  gbps: number | null;
  maxAbs: number;
  maxRel: number;
  ok: boolean;
  /** One line per checked output: ok, or where it first fails. */
  messages: string[];
  /** The failing outputs as data (the reports' failure tables); a launch WebGPU refused has none, only its message. */
  failures: OutputFailure[];
}

export interface ShapeRow {
  /** A launch of the model, or a generated edge launch on the pipeline of `layers` (untimed). */
  set: 'model' | 'edge';
  /** What an edge launch exercises. */
  why?: string;
  /** Our kernel for these layers, and the layers (module names) that run this exact launch (edge: this pipeline). */
  kernel: string;
  layers: string[];
  /** The launch's overrides as `name=value` (K, S, TW, WG, SQUEEZE, tile sizes): what the user's pipeline is given. */
  launch: string;
  /** The launch's uniforms as `name=value` (its shape as the kernels see it). */
  shape: string;
  /** Input H×W. */
  resolution: string;
  flops: number;
  bytes: number;
  /** Our kernel ("stock" in reports) and the user's ("yours"). */
  ours: SideResult;
  theirs: SideResult;
  /** Yours / stock median time (> 1: yours is slower); null when either failed or the row is untimed. */
  ratio: number | null;
}

export interface NetworkResult {
  /** Layers whose dispatch was replaced by the user's kernel. */
  swapped: number;
  /** Median over runs of the per-pass GPU times summed (timestamp-query) or of submit-to-read-back wall time. */
  stockMs: number;
  swappedMs: number;
  /** [fastest, slowest] run of each. */
  stockRange: [number, number];
  swappedRange: [number, number];
  /** ‖swapped − stock‖₂ / ‖stock‖₂ of the logits. */
  relL2: number;
  /** The bound relL2 is held to: MODEL_TOLERANCE.kernelSwapRelL2. */
  bound: number;
  /** relL2 within `bound` (what a correct kernel's different rounding leaves through the network). */
  ok: boolean;
}

export interface KernelBenchReport {
  op: BenchOp;
  kernel: string;
  arch: string;
  batch: number;
  res: number;
  runs: number;
  adapter: AdapterReport;
  timer: TimerKind;
  shapes: ShapeRow[];
  /** The swapped network, why it could not run (a kernel WebGPU refuses on some layer), or that it was not asked for. */
  network: NetworkResult | { error: string } | { skipped: string };
  /**
   * The model's launches weighted by how many layers run each (ms × layers, summed): what the kernel costs the
   * network, steadier than any one shape's ratio. Null when no launch was timed.
   */
  total: LayerWeightedTotal | null;
  /** The adapter's measured peak GFLOP/s and GB/s (the roofline's ceilings), when measured. */
  ceilings: Ceilings | null;
  /** The layers asked for (--layers), when not all. */
  layers: readonly string[] | null;
  /** Which launches were checked (--shapes). */
  shapeSet: ShapeSet;
  /** Every launch passed, and the network (unless skipped) ran and agreed with the stock one: the CLI's exit code. */
  ok: boolean;
}

export interface LayerWeightedTotal {
  /** Layers the timed launches stand for, and how many of the model's launches were timed on both sides. */
  layers: number;
  launches: number;
  stockMs: number;
  yoursMs: number;
  /** yoursMs / stockMs. */
  ratio: number;
}

/** A launch kernel-bench runs: one of the model's ops, or an edge launch on one of their pipelines. */
type LaunchView = Pick<OpView, 'name' | 'kernel' | 'overrides' | 'uniforms' | 'flops' | 'bytes' | 'inputSize' | 'dispatch'>;

/**
 * `work` (a promise on the device), or a KernelTimeout naming `what` once `ms` pass: a kernel that never finishes
 * is abandoned — reported and given up on — rather than waited on.
 */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KernelTimeout(`${what}: did not finish within ${ms / 1000} s (--timeout-s); a kernel that never ends (a loop without exit?) is abandoned`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The user's shader module on `device`, or a USER_KERNEL error naming its first compile error's line. */
async function compileUserKernel(device: GPUDevice, user: UserKernel): Promise<GPUShaderModule> {
  // A module that does not compile also raises a validation error; its messages (with lines) say more, so the
  // scope only keeps that error from reaching the device's uncaptured-error handler.
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label: user.label, code: user.source });
  const info = await module.getCompilationInfo();
  await device.popErrorScope();
  const err = info.messages.find((m) => m.type === 'error');
  if (err) throw new EffnetError('USER_KERNEL', `${user.label}:${err.lineNum}:${err.linePos}: ${err.message.split('\n')[0]}`);
  return module;
}

/** Builds the user's pipelines (one per override set) and dispatches over given buffers. */
class UserDispatcher {
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();
  private readonly group0: GPUBindGroupLayout;
  private readonly layout: GPUPipelineLayout;

  constructor(
    private readonly device: GPUDevice,
    private readonly user: UserKernel,
    private readonly module: GPUShaderModule,
  ) {
    // The contract's binding kinds, written out explicitly (not 'auto') so a binding the user's kernel never
    // reads is still validated, as for every engine kernel.
    this.group0 = device.createBindGroupLayout({
      label: user.label,
      entries: contractOf(user.op).bindings.map((b) => layoutEntry(b.binding, b.kind)),
    });
    this.layout = device.createPipelineLayout({ label: user.label, bindGroupLayouts: [this.group0] });
  }

  /** The overrides of ours that the user's kernel declares, at our launch's values. */
  constants(op: LaunchView): Record<string, number> {
    return Object.fromEntries(this.user.sharedOverrides.filter((o) => o in op.overrides).map((o) => [o, op.overrides[o]!]));
  }

  private pipeline(op: LaunchView): Promise<GPUComputePipeline> {
    const constants = this.constants(op);
    const key = JSON.stringify(constants);
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.device
        .createComputePipelineAsync({ label: this.user.label, layout: this.layout, compute: { module: this.module, entryPoint: 'main', constants } })
        .catch((cause: Error) => {
          throw new EffnetError('USER_KERNEL', `${this.user.label}: pipeline with overrides ${key} failed: ${cause.message.split('\n')[0]}`, { cause });
        });
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** The user's uniform struct filled from our launch's values, field by field. */
  params(op: LaunchView): Uint8Array {
    const values: UniformValues = Object.fromEntries([...this.user.uniform.fields.keys()].map((f) => [f, op.uniforms[f]!]));
    return new Uint8Array(this.user.uniform.pack(values, this.user.label));
  }

  /** Linear workgroup count from the `// Dispatch:` formula, folded into (x, y) as for every engine kernel. */
  grid(op: LaunchView): [number, number, number] {
    // Ours at our launch's values (defaults included), then the user's as their pipeline gets them.
    const values = headerValues(op.uniforms, {});
    Object.assign(values, overrideValues(reflectedKernel(kernelEntry(op.kernel)), op.overrides), overrideValues(this.user.reflected, this.constants(op)));
    const count = this.user.dispatch.evaluate(values);
    if (!Number.isInteger(count) || count < 1) {
      throw new EffnetError('USER_KERNEL', `${this.user.label}: Dispatch '${this.user.dispatch.text}' gives ${count} workgroups for ${op.name}; it must be a positive integer (use ceil)`);
    }
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    const cap = Math.min(max * max, MAX_USER_WORKGROUPS);
    if (count > cap) {
      const why = cap === MAX_USER_WORKGROUPS ? `kernel-bench's bound of 2^24` : `this device's maxComputeWorkgroupsPerDimension² = ${max}²`;
      throw new EffnetError('LIMIT_EXCEEDED', `${this.user.label}: Dispatch '${this.user.dispatch.text}' gives ${count} workgroups for ${op.name} (${shapeText(op)}), more than the ${cap} a launch may have (${why})`);
    }
    return foldWorkgroups(count, max)!;
  }

  async dispatch(op: LaunchView, resources: Record<string, GPUBufferBinding>, made: GPUBuffer[]): Promise<Dispatch> {
    const data = this.params(op);
    const params = createBuffer(this.device, { label: `${this.user.label}.params`, bytes: data.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, data });
    made.push(params);
    const entries = contractOf(this.user.op).bindings.map((b) => ({ binding: b.binding, resource: b.kind === 'uniform' ? { buffer: params } : resources[b.name]! }));
    return { pipeline: await this.pipeline(op), bindGroup: this.device.createBindGroup({ label: `${this.user.label} ${op.name}`, layout: this.group0, entries }), grid: this.grid(op) };
  }
}

/** Our op's pipeline over other buffers: a bind group for the same layout, and its uniforms packed by field name. */
function ourDispatch(device: GPUDevice, op: LaunchView, resources: Record<string, GPUBufferBinding>, made: GPUBuffer[]): Dispatch {
  const entry = kernelEntry(op.kernel);
  const data = new Uint8Array(reflectedKernel(entry).uniforms.get('params')!.pack(op.uniforms, op.kernel));
  const params = createBuffer(device, { label: `${op.name}.params`, bytes: data.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, data });
  made.push(params);
  const entries = entry.bindings.map((b, i) => ({ binding: i, resource: b.kind === 'uniform' ? { buffer: params } : resources[b.name]! }));
  return { ...op.dispatch, bindGroup: device.createBindGroup({ label: `ours ${op.name}`, layout: op.dispatch.pipeline.getBindGroupLayout(0), entries }) };
}

/** Run `fn`, turning a WebGPU validation error it causes into an EffnetError naming `what`. */
async function validated<T>(device: GPUDevice, what: string, fn: () => Promise<T>): Promise<T> {
  device.pushErrorScope('validation');
  let result: T;
  try {
    result = await fn();
  } finally {
    const err = await device.popErrorScope();
    if (err) throw new EffnetError('USER_KERNEL', `${what}: WebGPU rejected it: ${err.message.split('\n')[0]}`);
  }
  return result;
}

const shapeText = (op: Pick<OpView, 'uniforms'>) =>
  Object.entries(op.uniforms)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? v : `[${v.join(',')}]`}`)
    .join(' ');

const overridesText = (op: Pick<OpView, 'overrides'>) =>
  Object.entries(op.overrides)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

/** An edge launch as kernel-bench runs it: the model op's pipeline and bindings' kinds, its own uniforms and grid. */
function edgeView(device: GPUDevice, like: OpView, uniforms: OpView['uniforms'], index: number): LaunchView {
  const l = launchOf(like.kernel, uniforms, like.overrides);
  const u = uniforms as Record<string, number>;
  return {
    name: `${like.name} (edge ${index})`,
    kernel: like.kernel,
    overrides: like.overrides,
    uniforms,
    flops: 0,
    bytes: 0,
    inputSize: typeof u.H === 'number' && typeof u.W === 'number' ? { height: u.H, width: u.W } : like.inputSize,
    dispatch: { ...like.dispatch, grid: foldWorkgroups(l.workgroups, device.limits.maxComputeWorkgroupsPerDimension)! },
  };
}

export async function kernelBench(model: Model, user: UserKernel, opts: KernelBenchOptions = {}): Promise<KernelBenchReport> {
  const batch = opts.batch ?? 1;
  const res = opts.res ?? model.spec.resolution;
  const runs = opts.runs ?? 5;
  const shapeSet = opts.shapes ?? 'all';
  const timeoutS = opts.timeoutS ?? DEFAULT_TIMEOUT_S;
  const log = opts.log ?? (() => undefined);
  const wanted = opts.layers?.length ? opts.layers : null;
  for (const [name, v] of [['batch', batch], ['res', res], ['runs', runs]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new EffnetError('INPUT', `${name} must be a positive integer, got ${v}`);
  }
  if (res < 8) throw new EffnetError('INPUT', `res must be at least 8 (EfficientNet downsamples 32×), got ${res}`);
  if (!SHAPE_SETS.includes(shapeSet)) throw new EffnetError('INPUT', `shapes must be one of ${SHAPE_SETS.join(', ')}, got '${shapeSet}'`);
  if (!(timeoutS > 0)) throw new EffnetError('INPUT', `timeoutS must be a positive number of seconds, got ${timeoutS}`);
  const { device } = model.gpu;
  const module = await compileUserKernel(device, user);
  const dispatcher = new UserDispatcher(device, user, module);
  const timed = model.gpu.report.features.timestampQuery;
  const timeoutMs = timeoutS * 1000;

  log(`compiling ${model.spec.name} for batch ${batch} at ${res}×${res}`);
  const schedule = await instrument(model, { batch, height: res, width: res });
  try {
    const ofOp = schedule.passes.flatMap((p) => p.ops).filter((o) => OP_KERNELS[user.op].scheduled.includes(o.kernel));
    if (!ofOp.length) throw new EffnetError('INPUT', `${model.spec.name} has no ${user.op} layers (its schedule runs ${[...new Set(schedule.passes.flatMap((p) => p.ops.map((o) => o.kernel)))].join(', ')})`);
    const picked = wanted ? ofOp.filter((o) => wanted.some((l) => o.name === l || o.name.startsWith(`${l}.`))) : ofOp;
    if (!picked.length) {
      throw new EffnetError('INPUT', `no ${user.op} layer of ${model.spec.name} matches --layers ${wanted!.join(',')} (its ${user.op} layers: ${ofOp.map((o) => o.name).join(', ')})`);
    }
    const distinct = new Map<string, { op: OpView; layers: string[] }>();
    for (const op of picked) {
      const key = `${pipelineKey(op.kernel, op.overrides)} ${shapeText(op)}`;
      const d = distinct.get(key);
      if (d) d.layers.push(op.name);
      else distinct.set(key, { op, layers: [op.name] });
    }
    const layersOf = (op: OpView) => ofOp.filter((o) => pipelineKey(o.kernel, o.overrides) === pipelineKey(op.kernel, op.overrides)).map((o) => o.name);
    const launches: { view: LaunchView; layers: string[]; set: 'model' | 'edge'; why?: string }[] = [];
    if (shapeSet !== 'edge') for (const { op, layers } of distinct.values()) launches.push({ view: op, layers, set: 'model' });
    if (shapeSet !== 'model') {
      edgeLaunches(picked).forEach((e, i) => launches.push({ view: edgeView(device, e.like, e.uniforms, i + 1), layers: layersOf(e.like), set: 'edge', why: e.why }));
    }
    // Every workgroup count the user's Dispatch line gives, the network's included, before any of it runs: a count
    // past the device's or the tool's bound is refused here, not found after minutes of other shapes.
    for (const v of [...launches.map((l) => l.view), ...ofOp]) {
      try {
        dispatcher.grid(v);
      } catch (e) {
        if (isEffnetError(e, 'LIMIT_EXCEEDED')) throw e;
      }
    }
    const shapes: ShapeRow[] = [];
    let seed = 1;
    for (const { view, layers, set, why } of launches) {
      log(`${view.kernel} ${set === 'edge' ? view.name : layers[0]}${set === 'model' && layers.length > 1 ? ` (+${layers.length - 1} same-shape layers)` : ''}: ${set === 'edge' ? 'checking' : 'checking and timing'}`);
      // Where a wrong value is needs the output's width: the layer's for the model's launches, which an edge
      // launch without H and W uniforms (a pointwise probe) does not share.
      const width = set === 'model' || typeof view.uniforms.W === 'number' ? view.inputSize.width : undefined;
      const row = await benchShape(device, timed, dispatcher, user, view, layers, set === 'model' ? runs : 0, (seed += 101), timeoutMs, width);
      shapes.push({ ...row, set, ...(why === undefined ? {} : { why }) });
    }
    let ceilings: Ceilings | null = null;
    if (opts.ceilings !== false && runs > 0 && shapes.some((s) => s.ours.ms !== null)) {
      log('measuring this adapter\'s ceilings for the roofline (peak GFLOP/s and GB/s; cached)');
      const rates = shapes.flatMap((s) => [s.ours, s.theirs]);
      const best = (f: (r: SideResult) => number | null) => Math.max(0, ...rates.map((r) => f(r) ?? 0));
      ceilings = await adapterCeilings(model.gpu, model.lib, { gflops: best((r) => r.gflops), gbps: best((r) => r.gbps) });
    }
    let network: KernelBenchReport['network'] = { skipped: 'not asked for (--no-network)' };
    if (opts.network !== false) {
      log(`whole network: stock vs ${ofOp.length} ${user.op} layer(s) swapped, ${runs} run(s) each`);
      // A kernel that fails on some layer still gets its per-shape report; the network part says why it is missing.
      network = await benchNetwork(model, schedule, dispatcher, ofOp, timed, runs, batch, res, timeoutMs).catch((e: unknown) => {
        if (!(e instanceof KernelTimeout) && (isEffnetError(e, 'USER_KERNEL') || isEffnetError(e, 'LIMIT_EXCEEDED'))) return { error: e.message };
        throw e;
      });
    }
    return {
      op: user.op,
      kernel: user.label,
      arch: model.spec.name,
      batch,
      res,
      runs,
      adapter: model.gpu.report,
      timer: timerKind(timed),
      shapes,
      network,
      total: layerWeighted(shapes),
      ceilings,
      layers: wanted,
      shapeSet,
      ok: shapes.every((s) => s.theirs.ok) && ('skipped' in network || ('ok' in network && network.ok)),
    };
  } finally {
    schedule.release();
  }
}

/** The model's timed launches, each counted once per layer that runs it. */
function layerWeighted(shapes: readonly ShapeRow[]): LayerWeightedTotal | null {
  const timed = shapes.filter((s) => s.set === 'model' && s.ours.ms !== null && s.theirs.ms !== null);
  if (!timed.length) return null;
  const total = (side: 'ours' | 'theirs') => sum(timed.map((s) => s[side].ms! * s.layers.length));
  const [stockMs, yoursMs] = [total('ours'), total('theirs')];
  return { layers: sum(timed.map((s) => s.layers.length)), launches: timed.length, stockMs, yoursMs, ratio: yoursMs / stockMs };
}

/** A side's outputs pre-filled with NaN: a value the kernel never writes then fails the check instead of passing as 0. */
function fillNaN(device: GPUDevice, buffers: GPUBuffer[]): void {
  for (const b of buffers) device.queue.writeBuffer(b, 0, new Float32Array(b.size / 4).fill(NaN));
}

async function benchShape(
  device: GPUDevice, timed: boolean, dispatcher: UserDispatcher, user: UserKernel, op: LaunchView, layers: string[], runs: number, seed: number, timeoutMs: number,
  width: number | undefined,
): Promise<Omit<ShapeRow, 'set'>> {
  const numeric = Object.fromEntries(Object.entries(op.overrides).map(([k, v]) => [k, Number(v)]));
  const c = kernelCase(OP_KERNELS[user.op].contract, op.uniforms, numeric, seed);
  const launch = overridesText(op);
  const row = { kernel: op.kernel, layers, launch, shape: shapeText(op), resolution: `${op.inputSize.height}×${op.inputSize.width}`, flops: op.flops, bytes: op.bytes };
  const made: GPUBuffer[] = [];
  try {
    const inputs: Record<string, GPUBufferBinding> = {};
    const outputs = new Set(c.outputs.map((o) => o.binding));
    // Inputs are shared; each side writes its own output buffers, so neither can pass on the other's results.
    const sideResources = (side: string): Record<string, GPUBufferBinding> => {
      const r: Record<string, GPUBufferBinding> = { ...inputs };
      for (const name of outputs) {
        const b = storageBuffer(device, c.buffers[name] as number, `${side}.${name}`);
        made.push(b);
        r[name] = { buffer: b };
      }
      return r;
    };
    for (const [name, data] of Object.entries(c.buffers)) {
      if (outputs.has(name)) continue;
      const b = storageBuffer(device, data, `kernel-bench.${name}`);
      made.push(b);
      inputs[name] = { buffer: b };
    }
    const oursRes = sideResources('ours');
    const theirsRes = sideResources('theirs');
    const ours = ourDispatch(device, op, oursRes, made);
    const named = `${op.kernel} ${launch} (${row.shape})`;
    /** One run: outputs NaN-filled, the dispatch, each output read back and reduced as the case checks it. */
    const runOnce = async (d: Dispatch, resources: Record<string, GPUBufferBinding>, what: string): Promise<ArrayLike<number>[]> =>
      within(
        validated(device, what, async () => {
            fillNaN(device, c.outputs.map((o) => resources[o.binding]!.buffer));
            const enc = device.createCommandEncoder();
            const pass = enc.beginComputePass();
            encodeDispatch(pass, d);
            pass.end();
            device.queue.submit([enc.finish()]);
            await device.queue.onSubmittedWorkDone();
            const got = [];
            for (const o of c.outputs) got.push(o.got(new Float32Array(await readBuffer(device, resources[o.binding]!.buffer, c.buffers[o.binding] as number))));
            return got;
        }),
        timeoutMs,
        `${what} (${named})`,
      );
    // Each side runs twice: values that differ between two runs of the same launch come from a race.
    const check = async (d: Dispatch, resources: Record<string, GPUBufferBinding>, what: string): Promise<SideResult> => {
      const first = await runOnce(d, resources, what);
      const second = await runOnce(d, resources, what);
      const comps = c.outputs.map((o, i) =>
        checkOutput(o.label, first[i]!, second[i]!, o.want, o.tol, indexDecoder(op.uniforms, o.want.length, width), `${named}, layers ${layers.join(', ')}`),
      );
      return {
        ms: null, minMs: null, maxMs: null, gflops: null, gbps: null,
        maxAbs: Math.max(...comps.map((x) => x.maxAbs)),
        maxRel: Math.max(...comps.map((x) => x.maxRel)),
        ok: comps.every((x) => x.ok),
        messages: comps.map((x) => x.message),
        failures: comps.flatMap((x) => (x.failure ? [x.failure] : [])),
      };
    };
    const oursResult = await check(ours, oursRes, `ours ${op.name}`);
    let theirs: Dispatch;
    let theirsResult: SideResult;
    try {
      theirs = await dispatcher.dispatch(op, theirsRes, made);
      theirsResult = await check(theirs, theirsRes, `${user.label} on ${op.name}`);
    } catch (e) {
      // A kernel that WebGPU refuses on one shape (a rejected pipeline) fails that shape; the report still covers
      // every other one. One that hangs leaves the device busy: nothing after it can run.
      if (!(e instanceof EffnetError) || e instanceof KernelTimeout) throw e;
      const failed: SideResult = { ms: null, minMs: null, maxMs: null, gflops: null, gbps: null, maxAbs: NaN, maxRel: NaN, ok: false, messages: [e.message], failures: [] };
      return { ...row, ours: oursResult, theirs: failed, ratio: null };
    }
    if (!runs) return { ...row, ours: oursResult, theirs: theirsResult, ratio: null };
    // Enough back-to-back repetitions per timed pass that each side takes a few ms, above timer quantisation.
    // Both sides share each run (one submit under timestamps), and which goes first alternates.
    const sides = [[ours], [theirs]];
    const both = { alternate: true, sameSubmit: true, label: 'kernel-bench' };
    const timing = `timing ${user.label} on ${op.name} (${named})`;
    const [probeOurs, probeTheirs] = await within(timeDispatches(device, timed, sides, { ...both, runs: 1, reps: 1 }), timeoutMs, timing);
    const reps = repsFor(Math.min(probeOurs!, probeTheirs!), 5, 0.05, 20);
    const [oursRuns, theirsRuns] = await within(dispatchSamples(device, timed, sides, { ...both, runs, reps }), timeoutMs * (1 + runs * reps), timing);
    const withTime = (r: SideResult, samples: number[]): SideResult => {
      const ms = median(samples);
      return { ...r, ms, minMs: Math.min(...samples), maxMs: Math.max(...samples), gflops: op.flops / ms / 1e6, gbps: op.bytes / ms / 1e6 };
    };
    const [oursTimed, theirsTimed] = [withTime(oursResult, oursRuns!), withTime(theirsResult, theirsRuns!)];
    return { ...row, ours: oursTimed, theirs: theirsTimed, ratio: theirsTimed.ms! / oursTimed.ms! };
  } finally {
    for (const b of made) b.destroy();
  }
}

/**
 * The stock schedule (its own `run`) and the same passes with the user's dispatches in place of ours
 * (recorded here inside `exclusive`, over the schedule's own buffers), alternating, each with a timestamp
 * pair per pass; the swapped logits against the stock ones.
 */
async function benchNetwork(
  model: Model, schedule: InstrumentedSchedule, dispatcher: UserDispatcher, ofOp: OpView[], timed: boolean, runs: number, batch: number, res: number, timeoutMs: number,
): Promise<NetworkResult> {
  const { device } = model.gpu;
  const made: GPUBuffer[] = [];
  const timer = timed ? new PassTimer(device, schedule.passes.length) : undefined;
  try {
    const unused = storageBuffer(device, 16, 'kernel-bench.unused');
    made.push(unused);
    const swaps = new Map<OpView, Dispatch>();
    for (const op of ofOp) {
      const resources: Record<string, GPUBufferBinding> = {};
      for (const [name, b] of Object.entries(op.bindings)) {
        if ('tensor' in b) resources[name] = b.tensor;
        else if ('weight' in b) {
          const w = storageBuffer(device, b.weight, `kernel-bench.${op.name}.${name}`);
          made.push(w);
          resources[name] = { buffer: w };
        } else resources[name] = { buffer: unused };
      }
      swaps.set(op, await dispatcher.dispatch(op, resources, made));
    }
    const { input: inputBuffer, output } = schedule.io;
    const staging = createBuffer(device, { label: 'kernel-bench.logits', bytes: output.bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    made.push(staging);
    // The network input as `run` takes it (dense NCHW), the same smooth pattern `effnet profile` feeds.
    const input = new Float32Array(batch * 3 * res * res);
    for (let i = 0; i < input.length; i++) input[i] = Math.sin(i * 0.001);

    const swapped = () =>
      within(
        schedule.exclusive(() =>
          validated(device, 'the network with the user kernel swapped in', async () => {
            device.queue.writeBuffer(inputBuffer, 0, input);
            const enc = device.createCommandEncoder({ label: 'kernel-bench.network' });
            schedule.passes.forEach((p, i) => {
              const pass = enc.beginComputePass({ label: p.stage, ...(timer ? { timestampWrites: timer.writes(i) } : {}) });
              for (const op of p.ops) encodeDispatch(pass, swaps.get(op) ?? op.dispatch);
              pass.end();
            });
            timer?.plan(false).resolve(enc);
            enc.copyBufferToBuffer(output.buffer, 0, staging, 0, output.bytes);
            const t0 = performance.now();
            device.queue.submit([enc.finish()]);
            await staging.mapAsync(GPUMapMode.READ);
            const wall = performance.now() - t0;
            try {
              return { logits: denseRows(new Float32Array(staging.getMappedRange().slice(0)), output.shape), ms: timer ? sum(await timer.read()) : wall };
            } finally {
              staging.unmap();
            }
          }),
        ),
        timeoutMs * ofOp.length,
        `the network with the user kernel in ${ofOp.length} layer(s)`,
      );
    const stock = async () => {
      const t0 = performance.now();
      const logits = await schedule.run(input, timer?.plan(false));
      const wall = performance.now() - t0;
      return { logits, ms: timer ? sum(await timer.read()) : wall };
    };
    // Warm-up of both, then alternate which goes first.
    await stock();
    await swapped();
    const pairs = await interleave(stock, swapped, runs);
    const { relL2 } = errorStats(pairs.b.at(-1)!.logits, pairs.a.at(-1)!.logits);
    const bound = MODEL_TOLERANCE.kernelSwapRelL2;
    const [stockRuns, yoursRuns] = [pairs.a.map((x) => x.ms), pairs.b.map((x) => x.ms)];
    return {
      swapped: ofOp.length, stockMs: median(stockRuns), swappedMs: median(yoursRuns),
      stockRange: [Math.min(...stockRuns), Math.max(...stockRuns)], swappedRange: [Math.min(...yoursRuns), Math.max(...yoursRuns)],
      relL2, bound, ok: relL2 <= bound,
    };
  } finally {
    timer?.destroy();
    for (const b of made) b.destroy();
  }
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
