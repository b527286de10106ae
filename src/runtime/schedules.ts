/**
 * The compiled schedules of a model, one set per input shape, in two tiers: 'tuned' (the fastest tiles for the
 * device) and, with quick start, 'quick' (small tiles and compact kernels that compile in a fraction of the
 * time) for a shape's runs before its tuned schedule is ready. Compiles are cached as promises, so concurrent
 * requests for one shape share them; a failed compile is forgotten, so the next request tries again.
 *
 * The cache is bounded: every compiled schedule holds GPU memory (its activation arena and uniforms), and an
 * application that sees many input sizes would otherwise keep one arena per size for the model's life. Once
 * the schedules held exceed `budgetBytes`, the least recently used are destroyed until they fit (their shape
 * compiles again if it comes back). Never evicted: a schedule in use (pinned: the one a run is recording, and
 * those the profiler, tuner or kernel benchmark hold through instrument.ts until they release them) and the
 * most recently used one. So a single shape larger than the budget still runs, and runs again without
 * recompiling; it is then the only schedule kept.
 */
import { EffnetError } from '../errors.js';
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

/** The default `scheduleCacheBytes`: room for a few dozen B0 arenas at 224 or a handful of large-batch ones. */
export const DEFAULT_SCHEDULE_CACHE_BYTES = 256 * 2 ** 20;

interface ShapeTiers {
  quick?: Promise<Schedule>;
  tuned?: Promise<Schedule>;
  /** The tuned schedule once compiled: from then on runs take it and the quick one is released. */
  ready?: Schedule;
  /** Runs taken on the quick schedule so far. */
  quickRuns: number;
}

/** A compiled schedule the cache holds: its bytes, when it was last used, and who is using it now. */
interface Resident {
  id: string;
  tier: 'quick' | 'tuned';
  bytes: number;
  lastUse: number;
  pins: number;
  /** Evicted while pinned: out of its shape's tiers already, destroyed when the last pin goes. */
  detached: boolean;
}

export interface ScheduleCacheUsage {
  /** GPU bytes the compiled schedules hold (arenas and uniforms). */
  bytes: number;
  /** Compiled schedules held (a shape can have a quick and a tuned one). */
  schedules: number;
  budgetBytes: number;
  /** Schedules destroyed to stay within the budget, over the model's life. */
  evictions: number;
}

export class ScheduleTiers {
  readonly #shapes = new Map<string, ShapeTiers>();
  readonly #resident = new Map<Schedule, Resident>();
  #clock = 0;
  #evictions = 0;
  #destroyed = false;

  constructor(
    private readonly compile: (key: ScheduleKey, tier: 'tuned' | 'quick') => Promise<Schedule>,
    private readonly quickStart: boolean,
    /** Throws once the model is disposed. */
    private readonly assertLive: () => void,
    /** GPU bytes the compiled schedules may hold (checked with the other model options, options.ts). */
    readonly budgetBytes: number = DEFAULT_SCHEDULE_CACHE_BYTES,
  ) {}

  tuned(key: ScheduleKey): Promise<Schedule> {
    const id = shapeId(key);
    const t = this.#tiers(id);
    if (!t.tuned) {
      const p = this.#admit(id, 'tuned', this.compile(key, 'tuned'));
      t.tuned = p;
      p.then(
        (s) => t.tuned === p && this.#resident.has(s) && (t.ready = s),
        () => t.tuned === p && (t.tuned = undefined),
      );
    }
    return t.tuned;
  }

  quick(key: ScheduleKey): Promise<Schedule> {
    const id = shapeId(key);
    const t = this.#tiers(id);
    if (!t.quick) {
      const p = this.#admit(id, 'quick', this.compile(key, 'quick'));
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
    const t = this.#tiers(shapeId(key));
    return t.ready ?? (await (t.quick ?? this.tuned(key)));
  }

  /**
   * `fn` on the schedule `get` yields, pinned meanwhile so that no eviction destroys it under the run. A
   * schedule evicted between its compile settling and the pin (another shape's compile finished in between)
   * is asked for again, which compiles it anew.
   */
  async use<T>(get: () => Promise<Schedule>, fn: (s: Schedule) => Promise<T>): Promise<T> {
    const { schedule, release } = await this.acquire(get);
    try {
      return await fn(schedule);
    } finally {
      release();
    }
  }

  /** The schedule `get` yields, kept from eviction until `release` is called (once; later calls do nothing). */
  async acquire(get: () => Promise<Schedule>): Promise<{ schedule: Schedule; release: () => void }> {
    for (let attempt = 0; ; attempt++) {
      const schedule = await get();
      const r = this.#resident.get(schedule);
      if (!r || r.detached) {
        this.assertLive();
        if (attempt < 3) continue;
        throw new EffnetError('LIMIT_EXCEEDED', 'a schedule was evicted each time before it could run: scheduleCacheBytes is too small for the shapes in use');
      }
      r.pins++;
      r.lastUse = ++this.#clock;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        r.pins--;
        r.lastUse = ++this.#clock;
        if (r.pins === 0 && r.detached) {
          this.#resident.delete(schedule);
          schedule.compiled.destroy();
        }
        this.#evict();
      };
      return { schedule, release };
    }
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
    if (tier === 'tuned') return this.use(() => this.tuned(key), fn);
    if (tier === 'quick') return this.use(() => this.quick(key), fn);
    const t = this.#tiers(shapeId(key));
    if (t.ready) {
      if (t.quick) {
        t.quick.then((q) => this.#release(q), () => undefined);
        t.quick = undefined;
      }
      return this.use(() => this.tuned(key), fn);
    }
    if (!this.quickStart) return this.use(() => this.tuned(key), fn);
    try {
      await this.quick(key);
    } catch {
      // The quick tier is an optimisation: if it cannot compile, the tuned schedule still serves (or fails clearly).
      return this.use(() => this.tuned(key), fn);
    }
    try {
      return await this.use(() => this.quick(key), fn);
    } finally {
      if (++t.quickRuns >= 2 && !this.#destroyed) void this.tuned(key).catch(() => undefined);
    }
  }

  /**
   * Compile the shape's tuned schedule again (its tiles were retuned) and hand `between` the swap, which it
   * must make while no inference runs; the schedule it replaces is destroyed then.
   */
  async retune(key: ScheduleKey, between: (swap: () => void) => Promise<void>): Promise<void> {
    const id = shapeId(key);
    const fresh = await this.#admit(id, 'tuned', this.compile(key, 'tuned'));
    await between(() => {
      if (!this.#resident.has(fresh)) return;
      const t = this.#tiers(id);
      const old = t.ready;
      t.tuned = Promise.resolve(fresh);
      t.ready = fresh;
      if (old) this.#release(old);
    });
  }

  /** Whether the shape's tuned schedule is compiled (runs of it take that schedule). */
  isReady(key: ScheduleKey): boolean {
    return !!this.#tiers(shapeId(key)).ready;
  }

  usage(): ScheduleCacheUsage {
    let bytes = 0;
    for (const r of this.#resident.values()) bytes += r.bytes;
    return { bytes, schedules: this.#resident.size, budgetBytes: this.budgetBytes, evictions: this.#evictions };
  }

  /**
   * Destroy every schedule. Compiles still in flight are detached, not awaited: each destroys what it made
   * when it settles (#admit), so dispose() returns at once.
   */
  destroy(): void {
    this.#destroyed = true;
    for (const s of this.#resident.keys()) s.compiled.destroy();
    this.#resident.clear();
    this.#shapes.clear();
  }

  /**
   * A compile whose result enters the cache (and may push others out), or, when the model was disposed
   * meanwhile, is destroyed at once and reported as DISPOSED.
   */
  async #admit(id: string, tier: Resident['tier'], compiling: Promise<Schedule>): Promise<Schedule> {
    const s = await compiling;
    if (this.#destroyed) {
      s.compiled.destroy();
      throw new EffnetError('DISPOSED', 'the model was disposed while this schedule compiled');
    }
    this.#resident.set(s, { id, tier, bytes: s.compiled.bytes, lastUse: ++this.#clock, pins: 0, detached: false });
    this.#evict(s);
    return s;
  }

  /**
   * Destroy least-recently-used unpinned schedules until the cache fits its budget; never `keep` (just
   * admitted) nor the most recently used one, so that a shape larger than the budget does not compile anew for
   * every run.
   */
  #evict(keep?: Schedule): void {
    let total = this.usage().bytes;
    let mru: Schedule | undefined;
    for (const [s, r] of this.#resident) if (!mru || r.lastUse > this.#resident.get(mru)!.lastUse) mru = s;
    while (total > this.budgetBytes) {
      let victim: Schedule | undefined;
      for (const [s, r] of this.#resident) {
        if (s !== keep && s !== mru && r.pins === 0 && !r.detached && (!victim || r.lastUse < this.#resident.get(victim)!.lastUse)) victim = s;
      }
      if (!victim) return;
      total -= this.#resident.get(victim)!.bytes;
      this.#evictions++;
      this.#release(victim);
    }
  }

  /** Forget `s` in its shape's tiers and destroy it (deferred while pinned: the last release evicts it). */
  #release(s: Schedule): void {
    const r = this.#resident.get(s);
    if (!r) return;
    const t = this.#shapes.get(r.id);
    if (t) {
      if (t.ready === s) t.ready = undefined;
      // Only a settled promise can hold `s`; matching it by the resident's tier is enough.
      if (r.tier === 'tuned' && t.ready === undefined) t.tuned = undefined;
      if (r.tier === 'quick') t.quick = undefined;
      if (!t.quick && !t.tuned) this.#shapes.delete(r.id);
    }
    if (r.pins > 0) {
      // Still recording: cut it loose from its shape now, destroy it when the last pin goes.
      r.detached = true;
      return;
    }
    this.#resident.delete(s);
    s.compiled.destroy();
  }

  #tiers(id: string): ShapeTiers {
    this.assertLive();
    let t = this.#shapes.get(id);
    if (!t) {
      t = { quickRuns: 0 };
      this.#shapes.set(id, t);
    }
    return t;
  }
}

function shapeId(k: ScheduleKey): string {
  return `${k.batch}x${k.height}x${k.width}|${k.layout}|${k.keepStages ? 'keep' : ''}|${k.softmax ? 'softmax' : ''}`;
}
