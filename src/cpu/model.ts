/**
 * `CpuModel`: the `'cpu'` backend of `loadModel` — the same weights, written as a model file (model-files.ts)
 * and run on the platform's CPU runtime (runtime.ts), behind the same calls as the WebGPU `Model`: `run`
 * (arrays), `classify`, `memory()`, `dispose()`, `signal`, typed errors. One compiled session per input shape
 * (both file formats fix every shape), the few most recent kept.
 */
import { abortable, throwIfAborted } from '../abort.js';
import { EffnetError } from '../errors.js';
import { modelInfo, type ModelInfo } from '../model/info.js';
import { layerOps, planLayers } from '../model/layers.js';
import { paramTensors } from '../model/ops.js';
import type { ArchSpec } from '../model/tables.js';
import { paramValue, type ModelParams } from '../weights/params.js';
import { copyInput, shapeInput } from '../runtime/tensor-io.js';
import { checkRunOptions } from '../runtime/options.js';
import type { BackendInfo, InputTensor, RunOptions } from '../runtime/model-types.js';
import { modelFileBytes } from './model-files.js';
import type { CpuRuntime, CpuSession } from './runtime.js';

/** What `memory()` reports on the CPU backend: bytes held in this JS heap and the runtime's. */
export interface CpuModelMemory {
  /** The weights (BatchNorm folded), kept to write a model file for a new input shape. */
  weightBytes: number;
  /** Compiled sessions held (one per input shape, at most SESSION_CAP) and the model-file bytes they were made from. */
  sessions: number;
  sessionFileBytes: number;
  totalBytes: number;
}

/** Sessions kept per model: a new shape beyond this releases the least recently used. */
const SESSION_CAP = 3;
/** The largest activation one run may need (batch × the widest feature map), so a huge input is refused before any allocation. */
const MAX_ACTIVATION_BYTES = 2 ** 31;
/** Resolutions whose widest activation a model remembers (a number each). */
const WIDEST_CAP = 16;

interface Compiled {
  session: CpuSession;
  fileBytes: number;
}

export class CpuModel {
  readonly info: ModelInfo;
  readonly backend: BackendInfo;
  readonly #params: ModelParams;
  readonly #runtime: CpuRuntime;
  readonly #sessions = new Map<string, Promise<Compiled>>();
  #queue: Promise<unknown> = Promise.resolve();
  #disposed = false;

  constructor(
    readonly spec: ArchSpec,
    params: ModelParams,
    runtime: CpuRuntime,
    /** Which input space the weights expect, as the WebGPU Model's (classify's default preprocessing follows it). */
    readonly preprocess: 'tfjs' | 'torchvision',
    reason: string,
  ) {
    this.#params = params;
    this.#runtime = runtime;
    this.info = modelInfo(spec);
    this.backend = { name: 'cpu', runtime: runtime.name, detail: runtime.detail, reason };
  }

  /** Output classes (from the table). */
  get classes(): number {
    return this.spec.numClasses;
  }

  /**
   * Logits [N, classes] (or probabilities), as the WebGPU Model's `run`: a bare Float32Array is NCHW at the
   * model's resolution; `{data, shape, layout}` for another size, batch or NHWC. `output: 'gpu-buffer'` and GPU
   * inputs are WebGPU-only (INPUT errors here). Runs go one at a time.
   */
  async run(input: Float32Array | InputTensor, opts?: RunOptions & { output?: 'array' }): Promise<Float32Array>;
  /** (Written as Model.run's overloads are, so a call on `Model | CpuModel` returns a Float32Array.) */
  async run(input: Float32Array | InputTensor, opts?: RunOptions): Promise<Float32Array>;
  async run(input: Float32Array | InputTensor, opts: RunOptions = {}): Promise<Float32Array> {
    this.#assertLive();
    throwIfAborted(opts.signal, 'run');
    checkRunOptions(opts);
    if (opts.output === 'gpu-buffer') throw new EffnetError('INPUT', `output 'gpu-buffer' needs the WebGPU backend; this model runs on the CPU (${this.backend.runtime}): ${this.backend.reason}`);
    if (typeof input === 'object' && input !== null && 'buffer' in input && !(input instanceof Float32Array) && !('data' in input)) {
      throw new EffnetError('INPUT', `a GPUBuffer input needs the WebGPU backend; this model runs on the CPU (${this.backend.runtime})`);
    }
    const shaped = shapeInput(input, this.spec.resolution);
    const { batch, height, width } = shaped;
    this.#checkLimits(batch, height, width);
    const data = copyInput(shaped.data);
    const fromLayout = shaped.layout === 'nchw' ? 'NCHW' : 'NHWC';
    const work = this.#serial(async () => {
      throwIfAborted(opts.signal, 'run');
      const x = fromLayout === this.#runtime.layout ? data : transpose(data, batch, height, width, fromLayout);
      const { session } = await this.#session(batch, height, width);
      throwIfAborted(opts.signal, 'run');
      const logits = await session.run(x);
      const k = this.classes;
      if (logits.length !== batch * k) throw new EffnetError('CPU_RUNTIME', `${this.#runtime.name} returned ${logits.length} values, expected ${batch}×${k}`);
      const bad = logits.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new EffnetError('NUMERIC', `the logits went non-finite (${logits[bad]} at image ${Math.floor(bad / k)}, class ${bad % k}) on ${this.#runtime.name}`);
      return opts.probabilities ? softmaxRows(logits, k) : logits;
    });
    return abortable(work, opts.signal, 'run');
  }

  /** @internal The weights and the runtime this model writes and runs its files with: how src/cpu/profile.ts times it per stage. */
  profilerView(): { params: ModelParams; runtime: CpuRuntime } {
    this.#assertLive();
    return { params: this.#params, runtime: this.#runtime };
  }

  /** Compile the session of runs of this shape now, so the first such run does not pay for it. */
  async prepare(shape: { batch: number; height: number; width: number }): Promise<void> {
    this.#assertLive();
    this.#checkLimits(shape.batch, shape.height, shape.width);
    await this.#session(shape.batch, shape.height, shape.width);
  }

  memory(): CpuModelMemory {
    this.#assertLive();
    let weightBytes = 0;
    for (const t of paramTensors(layerOps(this.spec))) {
      const p = paramValue(this.#params, t.op, t.part);
      weightBytes += (p?.weight.byteLength ?? 0) + (p?.bias.byteLength ?? 0);
    }
    const sessionFileBytes = this.#fileBytes;
    return { weightBytes, sessions: this.#sessions.size, sessionFileBytes, totalBytes: weightBytes + sessionFileBytes };
  }

  /** Releases every compiled session. Calls after it fail with DISPOSED; a run in flight finishes, unread. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const s of this.#sessions.values()) s.then((c) => c.session.release(), () => undefined);
    this.#sessions.clear();
  }

  #fileBytes = 0;
  readonly #widestByRes = new Map<number, number>();

  #assertLive(): void {
    if (this.#disposed) throw new EffnetError('DISPOSED', 'this model was disposed');
  }

  #checkLimits(batch: number, height: number, width: number): void {
    const bytes = batch * this.#widest(Math.max(height, width)) * 4;
    if (bytes > MAX_ACTIVATION_BYTES) {
      throw new EffnetError('LIMIT_EXCEEDED', `a batch of ${batch} at ${height}×${width} needs a ${(bytes / 2 ** 30).toFixed(1)} GiB activation on the CPU backend (at most ${MAX_ACTIVATION_BYTES / 2 ** 30} GiB): run fewer or smaller images`);
    }
  }

  /** Values per image of the widest activation at `res`: planned once per resolution, not on every run. */
  #widest(res: number): number {
    let widest = this.#widestByRes.get(res);
    if (widest === undefined) {
      const plan = planLayers(this.spec, res);
      widest = Math.max(
        plan.stem.outC * plan.stem.outH * plan.stem.outW,
        ...plan.blocks.map((b) => b.expandC * b.inH * b.inW),
        plan.head.outC * plan.head.H * plan.head.W,
      );
      // Bounded for a caller cycling through sizes: past WIDEST_CAP the earliest planned is forgotten.
      if (this.#widestByRes.size >= WIDEST_CAP) this.#widestByRes.delete(this.#widestByRes.keys().next().value!);
      this.#widestByRes.set(res, widest);
    }
    return widest;
  }

  /** The session of this shape: compiled once, kept among the SESSION_CAP most recently used. */
  #session(batch: number, height: number, width: number): Promise<Compiled> {
    if (height !== width) {
      throw new EffnetError('INPUT', `the CPU backend runs square inputs (its model files take one resolution), got ${height}×${width}`);
    }
    const key = `${batch}x${height}`;
    let s = this.#sessions.get(key);
    if (s) {
      this.#sessions.delete(key);
      this.#sessions.set(key, s);
      return s;
    }
    s = (async () => {
      const file = await modelFileBytes(this.#runtime.format, this.spec, this.#params, { res: height, batch });
      const shape = this.#runtime.layout === 'NCHW' ? [batch, 3, height, width] : [batch, height, width, 3];
      const session = await this.#runtime.compile(file, shape, 'logits');
      this.#fileBytes += file.byteLength;
      if (this.#disposed) session.release();
      return { session, fileBytes: file.byteLength };
    })();
    this.#sessions.set(key, s);
    s.catch(() => this.#sessions.get(key) === s && this.#sessions.delete(key));
    while (this.#sessions.size > SESSION_CAP) {
      const [oldKey, old] = this.#sessions.entries().next().value as [string, Promise<Compiled>];
      this.#sessions.delete(oldKey);
      // Released after the runs queued before it: a session is only evicted between runs (#serial).
      void this.#serial(async () => {
        const c = await old.catch(() => undefined);
        if (c) {
          c.session.release();
          this.#fileBytes -= c.fileBytes;
        }
      });
    }
    return s;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }
}

/** NCHW ↔ NHWC for 3-channel images. */
function transpose(x: Float32Array, n: number, h: number, w: number, from: 'NCHW' | 'NHWC'): Float32Array {
  const y = new Float32Array(x.length);
  const hw = h * w;
  for (let b = 0; b < n; b++) {
    const o = b * 3 * hw;
    for (let p = 0; p < hw; p++) {
      for (let c = 0; c < 3; c++) {
        if (from === 'NCHW') y[o + p * 3 + c] = x[o + c * hw + p]!;
        else y[o + c * hw + p] = x[o + p * 3 + c]!;
      }
    }
  }
  return y;
}

/** Row-wise softmax, max-subtracted, summed in float64. */
function softmaxRows(x: Float32Array, k: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < x.length / k; r++) {
    const row = x.subarray(r * k, (r + 1) * k);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let sum = 0;
    for (let i = 0; i < k; i++) sum += Math.exp(row[i]! - max);
    for (let i = 0; i < k; i++) y[r * k + i] = Math.exp(row[i]! - max) / sum;
  }
  return y;
}
