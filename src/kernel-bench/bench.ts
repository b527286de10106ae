/**
 * `effnet kernel-bench`: a user's kernel for one op kind against ours, on every distinct layer shape the
 * model's schedule runs for that op — correctness against the float64 CPU reference, GPU time of both from
 * timestamp queries in the same submits — and the whole network with the user's kernel in place of ours for
 * every layer of that op (bound over the same activations and weights), against the stock schedule in the
 * same run. The schedule is seen only through runtime/instrument.ts; nothing here changes the model.
 */
import { createBuffer, readBuffer, storageBuffer } from '../buffers.js';
import { EffnetError, isEffnetError } from '../errors.js';
import type { AdapterReport } from '../gpu.js';
import { kernelEntry, reflectedKernel } from '../kernels/registry.js';
import { encodeDispatch, type Dispatch } from '../kernels/launch.js';
import { foldWorkgroups, layoutEntry } from '../kernels/library.js';
import type { UniformValues } from '../kernels/reflect.js';
import { compare } from '../reference/compare.js';
import type { Model } from '../runtime/model.js';
import { instrument, type InstrumentedSchedule, type OpView } from '../runtime/instrument.js';
import { denseRows } from '../runtime/tensor-io.js';
import { PassTimer } from '../runtime/timing.js';
import { median } from '../stats.js';
import { MODEL_TOLERANCE } from '../tolerance.js';
import { errorStats } from '../verify.js';
import { contractOf, OP_KERNELS, type BenchOp, type UserKernel } from './contract.js';
import { familyCase } from '../kernels/cases.js';

export interface KernelBenchOptions {
  batch?: number;
  res?: number;
  /** Timed runs per shape and per network side. */
  runs?: number;
  log?: (line: string) => void;
}

export interface SideResult {
  /** Median GPU ms of one dispatch (null when the dispatch failed). */
  ms: number | null;
  gflops: number | null;
  gbps: number | null;
  maxAbs: number;
  maxRel: number;
  ok: boolean;
  /** One line per checked output: ok, or where it first fails. */
  messages: string[];
}

export interface ShapeRow {
  /** Our kernel for these layers, and the layers (module names) that run this exact launch. */
  kernel: string;
  layers: string[];
  /** The launch's uniforms as `name=value` (its shape as the kernels see it). */
  shape: string;
  /** Input H×W. */
  resolution: string;
  flops: number;
  bytes: number;
  ours: SideResult;
  theirs: SideResult;
  /** Their median time over ours (> 1: theirs is slower); null when either failed. */
  ratio: number | null;
}

export interface NetworkResult {
  /** Layers whose dispatch was replaced by the user's kernel. */
  swapped: number;
  /** Median over runs of the per-pass GPU times summed (timestamp-query) or of submit-to-read-back wall time. */
  stockMs: number;
  swappedMs: number;
  /** ‖swapped − stock‖₂ / ‖stock‖₂ of the logits. */
  relL2: number;
  /** relL2 within MODEL_TOLERANCE.relL2 (what a correct kernel's different rounding leaves through the network). */
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
  timer: 'timestamp-query' | 'submit';
  shapes: ShapeRow[];
  /** The swapped network, or why it could not run (a kernel WebGPU refuses on some layer). */
  network: NetworkResult | { error: string };
  /** Every shape passed (the CLI's exit code). */
  ok: boolean;
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
  constants(op: OpView): Record<string, number> {
    return Object.fromEntries(this.user.sharedOverrides.filter((o) => o in op.overrides).map((o) => [o, op.overrides[o]!]));
  }

  private pipeline(op: OpView): Promise<GPUComputePipeline> {
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
  params(op: OpView): Uint8Array {
    const values: UniformValues = Object.fromEntries([...this.user.uniform.fields.keys()].map((f) => [f, op.uniforms[f]!]));
    return new Uint8Array(this.user.uniform.pack(values, this.user.label));
  }

  /** Linear workgroup count from the `// Dispatch:` formula, folded into (x, y) as for every engine kernel. */
  grid(op: OpView): [number, number, number] {
    const values: Record<string, number> = {};
    for (const [k, v] of Object.entries(op.uniforms)) if (typeof v === 'number') values[k] = v;
    Object.assign(values, op.overrides);
    const count = this.user.dispatch.evaluate(values);
    if (!Number.isInteger(count) || count < 1) {
      throw new EffnetError('USER_KERNEL', `${this.user.label}: Dispatch '${this.user.dispatch.text}' gives ${count} workgroups for ${op.name}; it must be a positive integer (use ceil)`);
    }
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    const grid = foldWorkgroups(count, max);
    if (!grid) throw new EffnetError('LIMIT_EXCEEDED', `${this.user.label}: ${count} workgroups for ${op.name} exceed ${max}²`);
    return grid;
  }

  async dispatch(op: OpView, resources: Record<string, GPUBufferBinding>, made: GPUBuffer[]): Promise<Dispatch> {
    const data = this.params(op);
    const params = createBuffer(this.device, { label: `${this.user.label}.params`, bytes: data.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, data });
    made.push(params);
    const entries = contractOf(this.user.op).bindings.map((b) => ({ binding: b.binding, resource: b.kind === 'uniform' ? { buffer: params } : resources[b.name]! }));
    return { pipeline: await this.pipeline(op), bindGroup: this.device.createBindGroup({ label: `${this.user.label} ${op.name}`, layout: this.group0, entries }), grid: this.grid(op) };
  }
}

/** Our op's pipeline over other buffers: a bind group for the same layout, and its uniforms packed by field name. */
function ourDispatch(device: GPUDevice, op: OpView, resources: Record<string, GPUBufferBinding>, made: GPUBuffer[]): Dispatch {
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

/**
 * Time `sides` (each a list of dispatches recorded back to back, `reps` times) over `runs` runs, alternating
 * which side goes first: GPU ms per dispatch from a timestamp pair around each side's pass, or, without
 * `timestamp-query`, the wall time of a submit per side.
 */
async function timeSides(device: GPUDevice, timed: boolean, sides: Dispatch[][], runs: number, reps: number): Promise<number[]> {
  const samples: number[][] = sides.map(() => []);
  const timer = timed ? new PassTimer(device, sides.length) : undefined;
  try {
    for (let r = 0; r < runs; r++) {
      const order = r % 2 === 0 ? sides.map((_, i) => i) : sides.map((_, i) => sides.length - 1 - i);
      if (timer) {
        const enc = device.createCommandEncoder({ label: 'kernel-bench' });
        for (const i of order) {
          const pass = enc.beginComputePass({ label: `side ${i}`, timestampWrites: timer.writes(i) });
          for (let k = 0; k < reps; k++) for (const d of sides[i]!) encodeDispatch(pass, d);
          pass.end();
        }
        timer.plan(false).resolve(enc);
        device.queue.submit([enc.finish()]);
        const ms = await timer.read();
        ms.forEach((m, i) => samples[i]!.push(m / reps));
      } else {
        for (const i of order) {
          const enc = device.createCommandEncoder({ label: 'kernel-bench' });
          const pass = enc.beginComputePass();
          for (let k = 0; k < reps; k++) for (const d of sides[i]!) encodeDispatch(pass, d);
          pass.end();
          const t0 = performance.now();
          device.queue.submit([enc.finish()]);
          await device.queue.onSubmittedWorkDone();
          samples[i]!.push((performance.now() - t0) / reps);
        }
      }
    }
  } finally {
    timer?.destroy();
  }
  return samples.map((s) => median(s));
}

const shapeText = (op: OpView) =>
  Object.entries(op.uniforms)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? v : `[${v.join(',')}]`}`)
    .join(' ');

export async function kernelBench(model: Model, user: UserKernel, opts: KernelBenchOptions = {}): Promise<KernelBenchReport> {
  const batch = opts.batch ?? 1;
  const res = opts.res ?? model.spec.resolution;
  const runs = opts.runs ?? 5;
  const log = opts.log ?? (() => undefined);
  for (const [name, v] of [['batch', batch], ['res', res], ['runs', runs]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new EffnetError('INPUT', `${name} must be a positive integer, got ${v}`);
  }
  if (res < 8) throw new EffnetError('INPUT', `res must be at least 8 (EfficientNet downsamples 32×), got ${res}`);
  const { device } = model.gpu;
  const module = await compileUserKernel(device, user);
  const dispatcher = new UserDispatcher(device, user, module);
  const timed = model.gpu.report.features.timestampQuery;

  log(`compiling ${model.spec.name} for batch ${batch} at ${res}×${res}`);
  const schedule = await instrument(model, { batch, height: res, width: res });
  try {
    const ofOp = schedule.passes.flatMap((p) => p.ops).filter((o) => OP_KERNELS[user.op].scheduled.includes(o.kernel));
    if (!ofOp.length) throw new EffnetError('INPUT', `${model.spec.name} has no ${user.op} layers (its schedule runs ${[...new Set(schedule.passes.flatMap((p) => p.ops.map((o) => o.kernel)))].join(', ')})`);
    const distinct = new Map<string, { op: OpView; layers: string[] }>();
    for (const op of ofOp) {
      const key = `${op.kernel} ${JSON.stringify(op.overrides)} ${shapeText(op)}`;
      const d = distinct.get(key);
      if (d) d.layers.push(op.name);
      else distinct.set(key, { op, layers: [op.name] });
    }
    const shapes: ShapeRow[] = [];
    let seed = 1;
    for (const { op, layers } of distinct.values()) {
      log(`${op.kernel} ${layers[0]}${layers.length > 1 ? ` (+${layers.length - 1} same-shape layers)` : ''}: checking and timing`);
      shapes.push(await benchShape(device, timed, dispatcher, user, op, layers, runs, (seed += 101)));
    }
    log(`whole network: stock vs ${ofOp.length} ${user.op} layer(s) swapped, ${runs} run(s) each`);
    // A kernel that fails on some layer still gets its per-shape report; the network part says why it is missing.
    const network = await benchNetwork(model, schedule, dispatcher, ofOp, timed, runs, batch, res).catch((e: unknown) => {
      if (isEffnetError(e, 'USER_KERNEL') || isEffnetError(e, 'LIMIT_EXCEEDED')) return { error: e.message };
      throw e;
    });
    return {
      op: user.op,
      kernel: user.label,
      arch: model.spec.name,
      batch,
      res,
      runs,
      adapter: model.gpu.report,
      timer: timed ? 'timestamp-query' : 'submit',
      shapes,
      network,
      ok: shapes.every((s) => s.theirs.ok),
    };
  } finally {
    schedule.release();
  }
}

async function benchShape(
  device: GPUDevice, timed: boolean, dispatcher: UserDispatcher, user: UserKernel, op: OpView, layers: string[], runs: number, seed: number,
): Promise<ShapeRow> {
  const numeric = Object.fromEntries(Object.entries(op.overrides).map(([k, v]) => [k, Number(v)]));
  const c = familyCase(user.op, op.uniforms, numeric, seed);
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
    const check = async (d: Dispatch, resources: Record<string, GPUBufferBinding>, what: string): Promise<SideResult> => {
      await validated(device, what, async () => {
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        encodeDispatch(pass, d);
        pass.end();
        device.queue.submit([enc.finish()]);
        await device.queue.onSubmittedWorkDone();
      });
      const comps = [];
      for (const o of c.outputs) {
        const read = new Float32Array(await readBuffer(device, resources[o.binding]!.buffer, c.buffers[o.binding] as number));
        comps.push(compare(o.got(read), o.want, o.tol, o.label));
      }
      return {
        ms: null, gflops: null, gbps: null,
        maxAbs: Math.max(...comps.map((x) => x.maxAbs)),
        maxRel: Math.max(...comps.map((x) => x.maxRel)),
        ok: comps.every((x) => x.ok),
        messages: comps.map((x) => x.message),
      };
    };
    const oursResult = await check(ours, oursRes, `ours ${op.name}`);
    let theirs: Dispatch;
    let theirsResult: SideResult;
    try {
      theirs = await dispatcher.dispatch(op, theirsRes, made);
      theirsResult = await check(theirs, theirsRes, `${user.label} on ${op.name}`);
    } catch (e) {
      // A kernel that WebGPU refuses on one shape (a dispatch too large, a rejected pipeline) fails that shape;
      // the report still covers every other one.
      if (!(e instanceof EffnetError)) throw e;
      const failed: SideResult = { ms: null, gflops: null, gbps: null, maxAbs: NaN, maxRel: NaN, ok: false, messages: [e.message] };
      return { kernel: op.kernel, layers, shape: shapeText(op), resolution: `${op.inputSize.height}×${op.inputSize.width}`, flops: op.flops, bytes: op.bytes, ours: oursResult, theirs: failed, ratio: null };
    }
    // Enough back-to-back repetitions per timed pass that each side takes a few ms, above timer quantisation.
    const [probeOurs, probeTheirs] = await timeSides(device, timed, [[ours], [theirs]], 1, 1);
    const reps = Math.max(1, Math.min(20, Math.ceil(5 / Math.max(Math.min(probeOurs!, probeTheirs!), 0.05))));
    const [msOurs, msTheirs] = await timeSides(device, timed, [[ours], [theirs]], runs, reps);
    const withTime = (r: SideResult, ms: number): SideResult => ({ ...r, ms, gflops: op.flops / ms / 1e6, gbps: op.bytes / ms / 1e6 });
    return {
      kernel: op.kernel,
      layers,
      shape: shapeText(op),
      resolution: `${op.inputSize.height}×${op.inputSize.width}`,
      flops: op.flops,
      bytes: op.bytes,
      ours: withTime(oursResult, msOurs!),
      theirs: withTime(theirsResult, msTheirs!),
      ratio: msTheirs! / msOurs!,
    };
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
  model: Model, schedule: InstrumentedSchedule, dispatcher: UserDispatcher, ofOp: OpView[], timed: boolean, runs: number, batch: number, res: number,
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
    const stockMs: number[] = [];
    const swappedMs: number[] = [];
    let last: { stock: Float32Array; swapped: Float32Array } = { stock: new Float32Array(0), swapped: new Float32Array(0) };
    for (let r = 0; r < runs; r++) {
      const a = r % 2 === 0 ? await stock() : undefined;
      const b = await swapped();
      const s = a ?? (await stock());
      stockMs.push(s.ms);
      swappedMs.push(b.ms);
      last = { stock: s.logits, swapped: b.logits };
    }
    const { relL2 } = errorStats(last.swapped, last.stock);
    return { swapped: ofOp.length, stockMs: median(stockMs), swappedMs: median(swappedMs), relL2, ok: relL2 <= MODEL_TOLERANCE.relL2 };
  } finally {
    timer?.destroy();
    for (const b of made) b.destroy();
  }
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
