/**
 * The public model object: weights uploaded once, one compiled schedule per (batch, size, layout, mode)
 * cached, and every inference recorded as one command buffer with one submit.
 */
import { EffnetError } from '../errors.js';
import type { Gpu } from '../gpu.js';
import { KernelLibrary } from '../kernels/library.js';
import type { ArchSpec } from '../model/tables.js';
import { modelInfo, type ModelInfo } from '../model/info.js';
import type { ModelParams } from '../weights/params.js';
import { buildGraph, packModel, type BuiltGraph, type InputLayout } from './builder.js';
import { CompiledGraph, type TimestampPlan } from './executor.js';
import { PassTimer, type StageTime } from './timing.js';
import type { ArenaPlan } from './arena.js';

export interface InputTensor {
  data: Float32Array;
  /** [N, 3, H, W] for NCHW, [N, H, W, 3] for NHWC. */
  shape: readonly number[];
  layout?: 'NCHW' | 'NHWC';
}

export interface RunOptions {
  /** Return softmax probabilities instead of logits. */
  probabilities?: boolean;
  /**
   * Which schedule runs: 'auto' (default) the best one compiled so far (see ModelOptions.quickStart),
   * 'tuned' waits for the tuned one, 'quick' takes the quick-start one (for testing it).
   */
  tier?: 'auto' | 'tuned' | 'quick';
}

/** What `runOnGpuInput` returns: the output rows, and per-pass GPU times when it was asked for them. */
export interface GpuInputRun {
  output: Float32Array;
  /** In execution order: the fill pass first, then stem, each table stage, head. */
  stages?: StageTime[];
}

export interface StageDump {
  name: string;
  /** Dense NCHW, as torchvision's `features.i` outputs. */
  data: Float32Array;
  shape: [number, number, number, number];
}

interface Plan {
  built: BuiltGraph;
  compiled: CompiledGraph;
}

export interface ModelOptions {
  /**
   * Quick start (default on): a new input shape first runs on 'quick' pipelines (small tiles, compact
   * kernels) that compile in a fraction of the time; from the second run of that shape on, the tuned
   * pipelines compile in the background, and once they are ready every run takes the tuned schedule
   * (`schedule()` and `run(x, { tier: 'tuned' })` wait for it).
   * Off: every run waits for the tuned schedule.
   */
  quickStart?: boolean;
}

type PlanKey = { batch: number; height: number; width: number; layout: InputLayout; keepStages: boolean; softmax: boolean };

/** One input shape's schedules: the tuned one, and (quick start) a quick one for the runs before it is ready. */
interface Tiers {
  quick?: Promise<Plan>;
  tuned?: Promise<Plan>;
  /** The tuned plan once compiled: from then on runs take it and the quick plan is released. */
  ready?: Plan;
  /** Runs taken on the quick plan so far. */
  quickRuns: number;
}

export class Model {
  private readonly plans = new Map<string, Tiers>();
  /** Read-back buffers by size, reused across inferences (which run one at a time). */
  private readonly staging = new Map<number, GPUBuffer>();
  /** Timestamp query sets by pass count, reused across timed inferences (which run one at a time). */
  private readonly timers = new Map<number, PassTimer>();
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
  readonly info: ModelInfo;

  private constructor(
    readonly spec: ArchSpec,
    readonly gpu: Gpu,
    readonly lib: KernelLibrary,
    private readonly packed: Map<string, Float32Array>,
    private readonly weightBuffers: Map<string, GPUBuffer>,
    private readonly ownsDevice: boolean,
    private readonly quickStart: boolean,
  ) {
    this.info = modelInfo(spec);
  }

  /** Upload `params` for `spec` on `gpu`; with `ownsGpu`, `dispose` (or a failure here) destroys the device too. */
  static async create(spec: ArchSpec, params: ModelParams, g: Gpu, owns: boolean, opts: ModelOptions = {}): Promise<Model> {
    const weightBuffers = new Map<string, GPUBuffer>();
    try {
      const packed = packModel(spec, params);
      const maxBinding = g.device.limits.maxStorageBufferBindingSize;
      for (const [key, data] of packed) {
        if (data.byteLength > maxBinding) {
          throw new EffnetError('LIMIT_EXCEEDED', `weight ${key} is ${data.byteLength} bytes, above this device's maxStorageBufferBindingSize (${maxBinding})`);
        }
        const buf = g.device.createBuffer({ label: key, size: Math.max(16, Math.ceil(data.byteLength / 16) * 16), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
        weightBuffers.set(key, buf);
        g.device.queue.writeBuffer(buf, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
      }
      const model = new Model(spec, g, new KernelLibrary(g.device), packed, weightBuffers, owns, opts.quickStart ?? true);
      return model;
    } catch (e) {
      for (const b of weightBuffers.values()) b.destroy();
      if (owns) g.destroy();
      throw e;
    }
  }

  /** Output classes (from the table, fixed for the model's life). */
  get classes(): number {
    return this.spec.numClasses;
  }

  /** Bytes of weights on the GPU (packed, padded). */
  get weightBytes(): number {
    let n = 0;
    for (const b of this.weightBuffers.values()) n += b.size;
    return n;
  }

  /**
   * Logits [N, classes] (or probabilities). A bare Float32Array is taken as NCHW at the model's default
   * resolution with N inferred; pass `{data, shape, layout}` for another size, batch or NHWC.
   */
  async run(input: Float32Array | InputTensor, opts: RunOptions = {}): Promise<Float32Array> {
    const { data, batch, height, width, layout } = this.validate(input);
    return this.serial(() =>
      this.latest({ batch, height, width, layout, keepStages: false, softmax: !!opts.probabilities }, opts.tier, async (plan) => {
        const [out] = await this.execute(plan, data, []);
        return out!;
      }),
    );
  }

  /**
   * Run on an input produced on the GPU: `fill` records commands that write the input buffer (e.g. the
   * preprocessing kernel) into the same command buffer as the network, so images to predictions is one submit.
   * With `timed` (and timestamp-query), every stage pass and the one pass `fill` records get GPU timestamps
   * from this same submit: `fill` must hand `timestampWrites` to its pass.
   */
  async runOnGpuInput(
    shape: { batch: number; height: number; width: number; layout: InputLayout },
    fill: (enc: GPUCommandEncoder, input: GPUBuffer, timestampWrites?: GPUComputePassTimestampWrites) => void,
    opts: RunOptions & { timed?: boolean; fillName?: string } = {},
  ): Promise<GpuInputRun> {
    return this.serial(() => this.latest({ ...shape, keepStages: false, softmax: !!opts.probabilities }, opts.tier, async (plan) => {
      if (!opts.timed || !this.gpu.report.features.timestampQuery) {
        const [output] = await this.execute(plan, fill, []);
        return { output: output! };
      }
      const passes = plan.compiled.passes;
      let timer = this.timers.get(passes.length + 1);
      if (!timer) {
        timer = new PassTimer(this.gpu.device, passes.length + 1);
        this.timers.set(passes.length + 1, timer);
      }
      // The network's passes take query pairs 0..P-1 (CompiledGraph.encode numbers them); the fill pass the last.
      const fillWrites = timer.writes(passes.length);
      const [output] = await this.execute(plan, (enc, input) => fill(enc, input, fillWrites), [], timer.plan(false));
      const ms = await timer.read();
      const stages: StageTime[] = [
        { name: opts.fillName ?? 'input', block: 'input', ms: ms[passes.length]! },
        ...passes.map((p, i) => ({ name: p.stage, block: p.ops[0]!.op.block, ms: ms[i]! })),
      ];
      return { output: output!, stages };
    }));
  }

  /**
   * Logits plus every `features.i` output (dense NCHW), for verification against a reference. It runs the
   * tuned schedule, or with `tier: 'quick'` the quick-start one.
   */
  async runStages(input: Float32Array | InputTensor, opts: { tier?: 'tuned' | 'quick' } = {}): Promise<{ logits: Float32Array; stages: StageDump[] }> {
    const { data, batch, height, width, layout } = this.validate(input);
    return this.serial(async () => {
      const key = { batch, height, width, layout, keepStages: true, softmax: false };
      const plan = await (opts.tier === 'quick' ? this.quickPlan(key) : this.tunedPlan(key));
      const stageIds = plan.built.stageOutputs.map((s) => s.tensor);
      const [logits, ...raw] = await this.execute(plan, data, stageIds);
      const stages = plan.built.stageOutputs.map((s, i): StageDump => {
        const t = plan.built.tensors[s.tensor]!.shape;
        return { name: s.name, data: nhwc4ToNchw(raw[i]!, t.n, t.h, t.w, t.c), shape: [t.n, t.c, t.h, t.w] };
      });
      return { logits: logits!, stages };
    });
  }

  /**
   * The activation arena that runs of this shape use now: the tuned schedule's once compiled, else the
   * quick-start one's; it compiles nothing that a run has not already asked for (unless none has run yet).
   */
  async activationArena(batch: number, height: number, width: number, layout: InputLayout = 'nchw', softmax = false): Promise<ArenaPlan> {
    const key = { batch, height, width, layout, keepStages: false, softmax };
    const t = this.tiers(key);
    const plan = t.ready ?? (await (t.quick ?? this.tunedPlan(key)));
    return plan.compiled.arena;
  }

  /** The tuned compiled schedule for a shape (built and cached on first use). */
  async schedule(batch: number, height: number, width: number, layout: InputLayout = 'nchw', softmax = false): Promise<{ built: BuiltGraph; compiled: CompiledGraph }> {
    return this.tunedPlan({ batch, height, width, layout, keepStages: false, softmax });
  }

  /**
   * Run once with an input already validated for `schedule` (data to upload, or commands that write the
   * input buffer): one command buffer, read back the
   * output (and optional extra tensors). `ts` adds timestamp writes (profiling) without changing the passes.
   */
  async execute(
    plan: { built: BuiltGraph; compiled: CompiledGraph },
    input: Float32Array | ((enc: GPUCommandEncoder, input: GPUBuffer) => void),
    extra: number[],
    ts?: TimestampPlan & { resolve: (enc: GPUCommandEncoder) => void },
  ): Promise<Float32Array[]> {
    this.assertLive();
    const { device } = this.gpu;
    const { built, compiled } = plan;
    const inputBuffer = compiled.tensorBinding(built.input).buffer;
    if (input instanceof Float32Array) device.queue.writeBuffer(inputBuffer, 0, input.buffer as ArrayBuffer, input.byteOffset, input.byteLength);
    const reads = [built.output, ...extra].map((id) => ({ id, ...compiled.tensorBinding(id) }));
    const total = reads.reduce((a, r) => a + r.bytes, 0);
    let staging = this.staging.get(total);
    if (!staging) {
      staging = device.createBuffer({ label: `readback.${total}`, size: total, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      this.staging.set(total, staging);
    }
    try {
      device.pushErrorScope('validation');
      const enc = device.createCommandEncoder({ label: 'inference' });
      if (typeof input === 'function') input(enc, inputBuffer);
      compiled.encode(enc, ts);
      ts?.resolve(enc);
      let off = 0;
      for (const r of reads) {
        enc.copyBufferToBuffer(r.buffer, 0, staging, off, r.bytes);
        off += r.bytes;
      }
      device.queue.submit([enc.finish()]);
      const err = await device.popErrorScope();
      if (err) throw new EffnetError('GPU_VALIDATION', `inference: ${err.message}`);
      await Promise.race([staging.mapAsync(GPUMapMode.READ), this.gpu.lost]);
      const bytes = staging.getMappedRange().slice(0);
      const errors = this.gpu.takeErrors();
      if (errors.length) throw errors[0]!;
      off = 0;
      const out: Float32Array[] = [];
      reads.forEach((r, i) => {
        const view = new Float32Array(bytes, off, r.bytes / 4);
        off += r.bytes;
        out.push(i === 0 ? denseRows(view, built) : view);
      });
      return out;
    } finally {
      if (staging.mapState === 'mapped') staging.unmap();
    }
  }

  /** Release every GPU buffer this model made (and the device, when the model acquired it). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of [...this.weightBuffers.values(), ...this.staging.values()]) b.destroy();
    this.weightBuffers.clear();
    this.staging.clear();
    for (const t of this.timers.values()) t.destroy();
    this.timers.clear();
    for (const t of this.plans.values()) {
      for (const p of [t.quick, t.tuned]) p?.then((x) => x.compiled.destroy(), () => undefined);
    }
    this.plans.clear();
    if (this.ownsDevice) this.gpu.destroy();
  }

  /** Packed weights by key (what the kernels read), e.g. for inspection or export. */
  packedWeights(): ReadonlyMap<string, Float32Array> {
    return this.packed;
  }

  private assertLive(): void {
    if (this.disposed) throw new EffnetError('DISPOSED', 'this model was disposed');
  }

  /** Inferences share the arena, so they run one at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private tiers(o: PlanKey): Tiers {
    this.assertLive();
    const key = `${o.batch}x${o.height}x${o.width}|${o.layout}|${o.keepStages ? 'keep' : ''}|${o.softmax ? 'softmax' : ''}`;
    let t = this.plans.get(key);
    if (!t) {
      t = { quickRuns: 0 };
      this.plans.set(key, t);
    }
    return t;
  }

  private compile(o: PlanKey, tier: 'tuned' | 'quick'): Promise<Plan> {
    return (async () => {
      const built = buildGraph(this.spec, this.packed, { ...o, target: { isFallback: this.gpu.report.isFallback, tier } });
      const compiled = await CompiledGraph.create(this.lib, built, this.weightBuffers, this.spec.name);
      return { built, compiled };
    })();
  }

  private tunedPlan(o: PlanKey): Promise<Plan> {
    const t = this.tiers(o);
    if (!t.tuned) {
      const p = this.compile(o, 'tuned');
      t.tuned = p;
      // A failed compile is not cached: the next request tries again (and reports its own error).
      p.then((plan) => (t.ready = plan), () => t.tuned === p && (t.tuned = undefined));
    }
    return t.tuned;
  }

  private quickPlan(o: PlanKey): Promise<Plan> {
    const t = this.tiers(o);
    if (!t.quick) {
      const p = this.compile(o, 'quick');
      t.quick = p;
      p.catch(() => t.quick === p && (t.quick = undefined));
    }
    return t.quick;
  }

  /**
   * Run `fn` on the best schedule available now: the tuned one once compiled; before that, with quick start,
   * the quick one. The tuned compile begins after the second quick run: never alongside the first inference
   * (on a software adapter the CPU also runs the kernels), and never for a shape that runs only once (a
   * one-shot CLI call would otherwise wait for it at exit, since Dawn finishes pending compiles before the
   * device goes). Callers hold the serial queue, so the quick plan can be released when the tuned one takes over.
   */
  private async latest<T>(o: PlanKey, tier: RunOptions['tier'], fn: (plan: Plan) => Promise<T>): Promise<T> {
    if (tier === 'tuned') return fn(await this.tunedPlan(o));
    if (tier === 'quick') return fn(await this.quickPlan(o));
    const t = this.tiers(o);
    if (t.ready) {
      if (t.quick) {
        t.quick.then((q) => q.compiled.destroy(), () => undefined);
        t.quick = undefined;
      }
      return fn(t.ready);
    }
    if (!this.quickStart) return fn(await this.tunedPlan(o));
    let quick: Plan;
    try {
      quick = await this.quickPlan(o);
    } catch {
      // The quick tier is an optimisation: if it cannot compile, the tuned schedule still serves (or fails clearly).
      return fn(await this.tunedPlan(o));
    }
    try {
      return await fn(quick);
    } finally {
      if (++t.quickRuns >= 2 && !this.disposed) void this.tunedPlan(o).catch(() => undefined);
    }
  }

  private validate(input: Float32Array | InputTensor): { data: Float32Array; batch: number; height: number; width: number; layout: InputLayout } {
    this.assertLive();
    const t: InputTensor = input instanceof Float32Array ? { data: input, shape: [] } : input;
    if (!(t.data instanceof Float32Array)) {
      throw new EffnetError('INPUT', `input must be a Float32Array, got ${Object.prototype.toString.call(t.data).slice(8, -1)}`);
    }
    const layout = t.layout ?? 'NCHW';
    if (layout !== 'NCHW' && layout !== 'NHWC') throw new EffnetError('INPUT', `input layout must be 'NCHW' or 'NHWC', got '${String(layout)}'`);
    let shape = [...t.shape];
    if (shape.length === 0) {
      const r = this.spec.resolution;
      const per = 3 * r * r;
      if (t.data.length === 0 || t.data.length % per !== 0) {
        throw new EffnetError('INPUT', `input has ${t.data.length} values, not a whole number of 3×${r}×${r} images (pass {data, shape} for other sizes)`);
      }
      shape = layout === 'NCHW' ? [t.data.length / per, 3, r, r] : [t.data.length / per, r, r, 3];
    }
    if (shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new EffnetError('INPUT', `input shape must be 4 positive integers, got [${shape.join(', ')}]`);
    }
    const [n, a, b, c] = shape as [number, number, number, number];
    const [ch, h, w] = layout === 'NCHW' ? [a, b, c] : [c, a, b];
    if (ch !== 3) throw new EffnetError('INPUT', `input must have 3 channels (RGB), got shape [${shape.join(', ')}] as ${layout}`);
    if (t.data.length !== n * 3 * h * w) {
      throw new EffnetError('INPUT', `input shape [${shape.join(', ')}] needs ${n * 3 * h * w} values, got ${t.data.length}`);
    }
    if (h < 8 || w < 8) throw new EffnetError('INPUT', `input of ${h}×${w} is too small for EfficientNet (at least 8×8; it downsamples 32×)`);
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i]!)) throw new EffnetError('INPUT', `input contains ${t.data[i]} at index ${i}; all values must be finite`);
    }
    return { data: t.data, batch: n, height: h, width: w, layout: layout === 'NCHW' ? 'nchw' : 'nhwc' };
  }
}

/** The output rows are stored with the class axis padded to 4; return dense [N, classes]. */
function denseRows(view: Float32Array, built: BuiltGraph): Float32Array {
  const t = built.tensors[built.output]!.shape;
  const k4 = t.c4 * 4;
  const out = new Float32Array(t.n * t.c);
  for (let n = 0; n < t.n; n++) out.set(view.subarray(n * k4, n * k4 + t.c), n * t.c);
  return out;
}

export function nhwc4ToNchw(x: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  const c4 = Math.ceil(c / 4) * 4;
  const out = new Float32Array(n * c * h * w);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++) {
        const src = ((b * h + y) * w + xx) * c4;
        for (let ch = 0; ch < c; ch++) out[((b * c + ch) * h + y) * w + xx] = x[src + ch]!;
      }
  return out;
}
