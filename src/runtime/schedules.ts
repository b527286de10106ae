/**
 * The compiled schedules of a model, one set per input shape, in two tiers: 'tuned' (the fastest tiles for the
 * device) and, with quick start, 'quick' (small tiles and compact kernels that compile in a fraction of the
 * time) for a shape's runs before its tuned schedule is ready. Compiles are cached as promises, so concurrent
 * requests for one shape share them; a failed compile is forgotten, so the next request tries again.
 */
import type { BuildOptions, BuiltGraph } from './builder.js';
import type { CompiledGraph } from './executor.js';
import type { RunOptions } from './model-types.js';

/** A planned graph and its GPU objects: what one inference of a shape records. */
export interface Schedule {
  built: BuiltGraph;
  compiled: CompiledGraph;
}

/** Everything that makes two schedules of one model differ: the build options less the target, fixed per device. */
export type ScheduleKey = Omit<BuildOptions, 'target'>;

interface ShapeTiers {
  quick?: Promise<Schedule>;
  tuned?: Promise<Schedule>;
  /** The tuned schedule once compiled: from then on runs take it and the quick one is released. */
  ready?: Schedule;
  /** Runs taken on the quick schedule so far. */
  quickRuns: number;
}

export class ScheduleTiers {
  readonly #shapes = new Map<string, ShapeTiers>();
  #destroyed = false;

  constructor(
    private readonly compile: (key: ScheduleKey, tier: 'tuned' | 'quick') => Promise<Schedule>,
    private readonly quickStart: boolean,
    /** Throws once the model is disposed. */
    private readonly assertLive: () => void,
  ) {}

  tuned(key: ScheduleKey): Promise<Schedule> {
    const t = this.#tiers(key);
    if (!t.tuned) {
      const p = this.compile(key, 'tuned');
      t.tuned = p;
      p.then((s) => (t.ready = s), () => t.tuned === p && (t.tuned = undefined));
    }
    return t.tuned;
  }

  quick(key: ScheduleKey): Promise<Schedule> {
    const t = this.#tiers(key);
    if (!t.quick) {
      const p = this.compile(key, 'quick');
      t.quick = p;
      p.catch(() => t.quick === p && (t.quick = undefined));
    }
    return t.quick;
  }

  /**
   * The schedule this shape's runs use now: the tuned one once compiled, else the quick one; it compiles
   * nothing that a run has not already asked for (unless none has run yet, then the tuned one).
   */
  async inUse(key: ScheduleKey): Promise<Schedule> {
    const t = this.#tiers(key);
    return t.ready ?? (await (t.quick ?? this.tuned(key)));
  }

  /**
   * Run `fn` on the schedule `tier` names; for 'auto', the best one available now: the tuned one once compiled;
   * before that, with quick start, the quick one. The tuned compile begins after the second quick run: never
   * alongside the first inference (on a software adapter the CPU also runs the kernels), and never for a shape
   * that runs only once (a one-shot CLI call would otherwise wait for it at exit, since Dawn finishes pending
   * compiles before the device goes). Callers run one inference at a time, so the quick schedule can be
   * released when the tuned one takes over.
   */
  async runOnBest<T>(key: ScheduleKey, tier: RunOptions['tier'], fn: (s: Schedule) => Promise<T>): Promise<T> {
    if (tier === 'tuned') return fn(await this.tuned(key));
    if (tier === 'quick') return fn(await this.quick(key));
    const t = this.#tiers(key);
    if (t.ready) {
      if (t.quick) {
        t.quick.then((q) => q.compiled.destroy(), () => undefined);
        t.quick = undefined;
      }
      return fn(t.ready);
    }
    if (!this.quickStart) return fn(await this.tuned(key));
    let quick: Schedule;
    try {
      quick = await this.quick(key);
    } catch {
      // The quick tier is an optimisation: if it cannot compile, the tuned schedule still serves (or fails clearly).
      return fn(await this.tuned(key));
    }
    try {
      return await fn(quick);
    } finally {
      if (++t.quickRuns >= 2 && !this.#destroyed) void this.tuned(key).catch(() => undefined);
    }
  }

  /**
   * Compile the shape's tuned schedule again (its tiles were retuned) and hand `between` the swap, which it
   * must make while no inference runs; the schedule it replaces is destroyed then.
   */
  async retune(key: ScheduleKey, between: (swap: () => void) => Promise<void>): Promise<void> {
    const fresh = await this.compile(key, 'tuned');
    if (this.#destroyed) {
      fresh.compiled.destroy();
      return;
    }
    await between(() => {
      const t = this.#tiers(key);
      const old = t.ready;
      t.tuned = Promise.resolve(fresh);
      t.ready = fresh;
      old?.compiled.destroy();
    });
  }

  /** Whether the shape's tuned schedule is compiled (runs of it take that schedule). */
  isReady(key: ScheduleKey): boolean {
    return !!this.#tiers(key).ready;
  }

  /** Destroy every schedule, including those still compiling. */
  destroy(): void {
    this.#destroyed = true;
    for (const t of this.#shapes.values()) {
      for (const p of [t.quick, t.tuned]) p?.then((s) => s.compiled.destroy(), () => undefined);
    }
    this.#shapes.clear();
  }

  #tiers(k: ScheduleKey): ShapeTiers {
    this.assertLive();
    const id = `${k.batch}x${k.height}x${k.width}|${k.layout}|${k.keepStages ? 'keep' : ''}|${k.softmax ? 'softmax' : ''}`;
    let t = this.#shapes.get(id);
    if (!t) {
      t = { quickRuns: 0 };
      this.#shapes.set(id, t);
    }
    return t;
  }
}
