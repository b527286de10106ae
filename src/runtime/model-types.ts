/** The shapes the public `Model` takes and returns; none of them exposes the planner or the executor. */
import type { TuningSource } from '../tuning/file.js';
import type { StageTime } from './timing.js';
import type { ScheduleCacheUsage } from './schedules.js';
import type * as web from '../platform-types.js';

export interface InputTensor {
  data: Float32Array;
  /** [N, 3, H, W] for NCHW, [N, H, W, 3] for NHWC. */
  shape: readonly number[];
  layout?: 'NCHW' | 'NHWC';
}

/**
 * An input already on the GPU, e.g. written by the application's own WebGPU work: `run` copies it into the
 * network in the same command buffer as the inference, with no upload from the CPU.
 * - `buffer`: a GPUBuffer of the model's device (`model.gpu.device`) with GPUBufferUsage.COPY_SRC, not mapped,
 *   holding the tensor as dense float32 from byte 0 (the buffer may be larger).
 * - `shape`/`layout`: as for InputTensor, [N, 3, H, W] for NCHW (the default) or [N, H, W, 3] for NHWC.
 * The buffer is read when the run executes on the model's queue (runs are serial), not when `run` is called:
 * leave it unchanged until the returned promise settles. Its values are not checked for NaN/Inf (that would
 * need a read-back); a non-finite output still raises NUMERIC when the output is read back.
 */
export interface GpuInputTensor {
  buffer: web.GPUBuffer;
  shape: readonly number[];
  layout?: 'NCHW' | 'NHWC';
}

/**
 * What `run(x, { output: 'gpu-buffer' })` returns: the output left on the GPU for the application's own WebGPU
 * work (bind it, copy it), with no read-back.
 * - `buffer`: dense float32 [N, classes] (logits, or probabilities with `probabilities: true`), row-major from
 *   byte 0; its size is N·classes·4 rounded up to a multiple of 16. A new buffer per run, on the model's device,
 *   with usage STORAGE | COPY_SRC | COPY_DST.
 * - Ownership: the caller's. The model never touches it again and `dispose()` does not destroy it: call
 *   `buffer.destroy()` when done (it stays valid after the model is disposed, until then).
 * - It is filled by the run's one submit: work the application submits to the same device's queue after the
 *   promise resolves sees the values (queue order); to read it on the CPU, copy it to a MAP_READ buffer.
 * - The NUMERIC check (non-finite output) is skipped: it would need the read-back this option avoids.
 */
export interface GpuOutput {
  buffer: web.GPUBuffer;
  /** [N, classes]. */
  shape: [number, number];
}

/** A shape of input to prepare for: batch, size and layout as `run` would see them. */
export interface InputShape {
  batch: number;
  height: number;
  width: number;
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
  /**
   * 'array' (default): a Float32Array read back to the CPU. 'gpu-buffer': `{ buffer, shape }` left on the GPU
   * (GpuOutput: layout, ownership and lifetime).
   */
  output?: 'array' | 'gpu-buffer';
  /** Cancels the call: it rejects with an `ABORTED` EffnetError (a run already on the GPU finishes, unread). */
  signal?: web.AbortSignal;
}

export interface ModelOptions {
  /**
   * Quick start (default on): a new input shape first runs on 'quick' pipelines (small tiles, compact
   * kernels) that compile in a fraction of the time; from the second run of that shape on, the tuned
   * pipelines compile in the background, and once they are ready every run takes the tuned schedule
   * (`prepare()` and `run(x, { tier: 'tuned' })` wait for it).
   * Off: every run waits for the tuned schedule.
   */
  quickStart?: boolean;
  /**
   * Which schedule the planners shape: 'auto' (default) by the adapter — a software rasteriser gets the
   * SwiftShader-tuned tiles, a hardware GPU the GPU-shaped kernels (workgroup-memory GEMMs, 64–256 invocations
   * per workgroup (16–32 for a late depthwise layer, so it still spans the SMs), ≤ 64 accumulators per invocation); 'gpu' or 'fallback' forces one (e.g. to check the GPU
   * schedule's numbers on SwiftShader, where it runs correctly but slowly).
   */
  target?: 'auto' | 'gpu' | 'fallback';
  /**
   * Tiles measured on this device by `effnet tune` (src/tuning/file.ts): a tuning file (object, path or URL),
   * 'cache' (Node's tuning cache; the default in Node) or 'none' (the planners' own tiles; the browser default).
   * Entries for other adapters are ignored.
   */
  tuning?: TuningSource;
  /**
   * 'background': once a shape runs on its tuned schedule, tune its launches on this device without blocking
   * (between inferences; `tuneBudgetS` seconds, default 20), keep the result in the model (and Node's tuning
   * cache) and swap in the retuned schedule. Only on hardware adapters, which compile pipelines fast; on a
   * software one it is skipped (see `model.schedule.background`). Default 'off'.
   */
  tune?: 'off' | 'background';
  tuneBudgetS?: number;
  /**
   * GPU bytes the compiled schedules of all input shapes may hold together (activation arenas and uniforms;
   * default 256 MiB). Past it the least recently used shape's schedule is destroyed and compiles again if that
   * shape comes back. The schedule a run is using and the most recently used one are never evicted, so a shape
   * larger than the budget still runs (it is then the only one kept); 0 keeps only that one. `model.memory()`
   * reports the usage.
   */
  scheduleCacheBytes?: number;
  /** The input the weights expect (`model.preprocess`); loadModel sets it from the weights. Default 'torchvision'. */
  preprocess?: 'tfjs' | 'torchvision';
  /**
   * The on-device self-test: before a schedule is first used, each compiled variant it runs (kernel, fusions and
   * tile) that this device has not checked yet runs a small known-answer case against the float64 reference; a
   * variant that fails is replaced by its next (planned, then the plain kernel) and `schedule.selfTest` names it.
   * 'auto' (default): on hardware adapters, off on software ones (the compiler CI tests); 'on' / 'off' force it.
   */
  selfTest?: 'auto' | 'on' | 'off';
  /**
   * Whether kernels may use the adapter's `subgroups` feature (default true where it has it); false plans the
   * plain kernels only, e.g. to rule subgroups out on a driver under suspicion.
   */
  subgroups?: boolean;
}

/** The tiles a model starts with (loadModel resolves a tuning source, src/tuning/file.ts), and what was dropped. */
export interface ModelTuning {
  choices?: ReadonlyMap<string, Readonly<Record<string, number>>>;
  source: string;
  warnings: readonly string[];
}

/** Which backend runs a model, and why (`loadModel`'s `backend` decision; the CLI's adapter line prints it). */
export interface BackendInfo {
  name: 'webgpu' | 'cpu';
  /** 'effnet-webgpu' (our kernels) or the CPU runtime: 'onnxruntime-node', 'litert-wasm'. */
  runtime: string;
  /** The adapter, or the CPU runtime's version and threads. */
  detail: string;
  /** Why this backend: asked for, or what `'auto'` found. */
  reason: string;
}

/** What `model.memory()` reports: GPU bytes held, exact from the model's own allocations. */
export interface ModelMemory {
  weightBytes: number;
  schedules: ScheduleCacheUsage;
  /** Read-back buffers, kept per output size (a few sizes at most). */
  stagingBytes: number;
  totalBytes: number;
}

/** The schedule a model plans: for which kind of device, and with which measured tiles. */
export interface ScheduleTarget {
  target: 'gpu' | 'fallback';
  /**
   * Where the tuning came from ('none', a path or URL, Node's cache file), how many launches it retiles, and the
   * cache entries dropped because they did not check out (one line each).
   */
  tuning: { source: string; entries: number; warnings: string[] };
  /** Background tuning (ModelOptions.tune): 'on', 'off', or why it was skipped. */
  background: 'on' | 'off' | `skipped: ${string}`;
  /**
   * The on-device self-test (ModelOptions.selfTest) over the schedules compiled so far: variants checked, their
   * check time, and each that failed with why and the variant that runs in its place.
   */
  selfTest: {
    enabled: boolean;
    checked: number;
    ms: number;
    failed: { variant: string; message: string; replacedBy?: string }[];
    /** Every variant checked for this model's schedules, with its outcome (`effnet doctor` lists them). */
    variants: { variant: string; status: 'pass' | 'fail' | 'untested'; ms: number; message: string }[];
  };
}

/** Commands that write the network's input buffer in one compute pass, handed that pass's timestamp writes when it is timed. */
export type InputFill = (enc: web.GPUCommandEncoder, input: web.GPUBuffer, timestampWrites?: web.GPUComputePassTimestampWrites) => void;

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
