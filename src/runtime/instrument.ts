/**
 * The one way code outside the model looks inside it: the profiler (src/profile.ts), the tuner
 * (src/tuning/measure.ts) and the kernel benchmarks call `instrument(model, shape)`, which compiles (or waits for) the tuned schedule of that
 * shape — the one every run of the shape takes once compiled — and returns
 *   - `passes`: its compute passes in recording order (stem, each table stage, head), each with its ops as
 *     read-only descriptions (kernel, specialisation, uniforms, FLOPs, bytes, input size) plus the ready-made
 *     dispatch, so that a benchmark can record one launch alone with `encodeDispatch`;
 *   - `run(input, timestamps?)`: one inference of exactly that schedule (one submit, queued behind any other
 *     inference of the model), returning the dense output; `timestamps` (from `PassTimer.plan`) adds GPU
 *     timestamp writes to the same passes without changing them;
 *   - `exclusive(fn)`: `fn` queued like an inference, for recording the schedule's dispatches by hand (the
 *     tuner, src/tuning/measure.ts, times one op at a time).
 * instrument() pins the schedule in the model's bounded cache; callers `release()` it when done.
 * Nothing here is on the published `Model` type: the model hands its internals to this module at creation
 * (`exposeInternals`), kept in a WeakMap, so schedules and compiled graphs never enter the public API.
 */
import { bufferBytes } from '../buffers.js';
import type { Dispatch } from '../kernels/launch.js';
import type { BuiltGraph, InputLayout } from './builder.js';
import type { Op, TensorSpec } from './graph.js';
import type { Model } from './model.js';
import type { Schedule, ScheduleKey } from './schedules.js';
import type { PassTimestamps } from './timing.js';
import type * as web from '../platform-types.js';

export interface ScheduleShape {
  batch: number;
  height: number;
  width: number;
  layout?: InputLayout;
  softmax?: boolean;
}

export interface OpView extends Readonly<Pick<Op, 'name' | 'stage' | 'block' | 'kernel' | 'overrides' | 'uniforms' | 'flops' | 'bytes'>> {
  /** H×W of the first activation the op binds (tensor ids grow along the network, so the lowest is its input). */
  readonly inputSize: { readonly height: number; readonly width: number };
  readonly dispatch: Dispatch;
  /**
   * What each storage binding of the op is bound to, by binding name: an activation's buffer range, a weight's
   * packed values (as uploaded), or nothing the kernel reads (a switched-off fusion). `effnet kernel-bench`
   * binds a user's kernel for the same op over these.
   */
  readonly bindings: Readonly<Record<string, OpBinding>>;
}

export type OpBinding = { readonly tensor: web.GPUBufferBinding } | { readonly weight: Float32Array } | { readonly unused: true };

export interface PassView {
  readonly stage: string;
  readonly ops: readonly OpView[];
}

export interface InstrumentedSchedule {
  readonly passes: readonly PassView[];
  run(input: Float32Array, timestamps?: PassTimestamps): Promise<Float32Array>;
  /**
   * Runs `fn` while no inference of the model is in flight (queued like one), for work that records the
   * schedule's dispatches itself — an op alone, as the tuner does — and so writes the model's activations.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Let the model's schedule cache evict this schedule again (instrument() pins it, so that no other shape's
   * compile destroys it while it is being timed). Call it when done; `run` and the dispatches are invalid after.
   */
  release(): void;
  /**
   * The network input (dense float32 as `run` takes it) and output (read back as `run` does, with `denseRows`)
   * buffers, for recording the schedule by hand inside `exclusive`.
   */
  readonly io: { readonly input: web.GPUBuffer; readonly output: { readonly buffer: web.GPUBuffer; readonly bytes: number; readonly shape: TensorSpec['shape'] } };
}

/**
 * A background tuner as the model sees it (src/tuning/background.ts attaches one for `tune: 'background'`): told
 * of every finished run, waited for by `backgroundTuning()`, and its status in `model.schedule.background`.
 */
export interface TunerHooks {
  readonly status: 'on' | `skipped: ${string}`;
  afterRun(key: ScheduleKey): void;
  settled(): Promise<void>;
}

/** What a model lends this module: its tuned schedules, one-at-a-time submits of them, and its tuning. */
export interface ModelInternals {
  /** The tuned schedule of `key`, pinned in the cache until `release`. */
  tuned(key: ScheduleKey): Promise<{ schedule: Schedule; release: () => void }>;
  run(schedule: Schedule, input: Float32Array, timestamps?: PassTimestamps): Promise<Float32Array>;
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  attachTuner(hooks: TunerHooks): void;
  /** Whether runs of `key` take its compiled tuned schedule (false once the model is disposed). */
  isReady(key: ScheduleKey): boolean;
  /** Tiles to take from now on (by tuning key), and where they are kept. */
  addTuning(choices: Iterable<[string, Record<string, number>]>, source: string): void;
  /** Compile `key`'s tuned schedule again (with the tiles added) and swap it in between inferences. */
  retune(key: ScheduleKey): Promise<void>;
}

const internals = new WeakMap<Model, ModelInternals>();

export function exposeInternals(model: Model, access: ModelInternals): void {
  internals.set(model, access);
}

/** The internals of `model`, for the background tuner (src/tuning/background.ts). */
export const modelInternals = (model: Model): ModelInternals => internals.get(model)!;

export async function instrument(model: Model, shape: ScheduleShape): Promise<InstrumentedSchedule> {
  const access = internals.get(model)!;
  const { batch, height, width, layout = 'nchw', softmax = false } = shape;
  const { schedule, release } = await access.tuned({ batch, height, width, layout, softmax, keepStages: false });
  const passes = schedule.compiled.passes.map(
    (p): PassView => ({
      stage: p.stage,
      ops: p.ops.map(({ op, pipeline, bindGroup, grid }) => ({
        name: op.name,
        stage: op.stage,
        block: op.block,
        kernel: op.kernel,
        overrides: op.overrides,
        uniforms: op.uniforms,
        flops: op.flops,
        bytes: op.bytes,
        inputSize: inputSize(schedule.built, op),
        dispatch: { pipeline, bindGroup, grid },
        bindings: opBindings(schedule, op),
      })),
    }),
  );
  return { passes, run: (input, timestamps) => access.run(schedule, input, timestamps), exclusive: (fn) => access.exclusive(fn), release, io: scheduleIo(schedule) };
}

function inputSize(built: BuiltGraph, op: Op): { height: number; width: number } {
  const t = built.tensors.find((x) => Object.values(op.bind).some((r) => 'tensor' in r && r.tensor === x.id))!;
  return { height: t.shape.h, width: t.shape.w };
}

function opBindings(schedule: Schedule, op: Op): Record<string, OpBinding> {
  const { built, compiled } = schedule;
  return Object.fromEntries(
    Object.entries(op.bind).map(([name, r]): [string, OpBinding] => {
      if ('tensor' in r) {
        const t = compiled.tensorBinding(r.tensor);
        // The same range the executor binds (its size rounded as every tensor binding is).
        return [name, { tensor: { buffer: t.buffer, size: bufferBytes(t.bytes) } }];
      }
      return [name, 'weight' in r ? { weight: built.weights.get(r.weight)! } : { unused: true }];
    }),
  );
}

function scheduleIo(schedule: Schedule): InstrumentedSchedule['io'] {
  const { built, compiled } = schedule;
  const output = compiled.tensorBinding(built.output);
  return { input: compiled.tensorBinding(built.input).buffer, output: { ...output, shape: built.tensors[built.output]!.shape } };
}
