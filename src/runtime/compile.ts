/**
 * How a model turns a shape into a compiled schedule: the launch target for its adapter (device class, tier,
 * subgroups, measured tiles, the variants the self-test failed here), the graph built from it, every variant
 * self-tested before first use when the model runs the self-test (a failing one swapped for its next variant,
 * which is checked in turn), then pipelines, arena and bind groups (executor.ts).
 */
import type { AdapterReport } from '../gpu.js';
import type { LaunchTarget } from '../kernels/launch.js';
import { pipelineKey, type KernelLibrary } from '../kernels/library.js';
import type { TuningChoices } from '../kernels/tuning.js';
import type { ArchSpec } from '../model/tables.js';
import { buildGraph } from './builder.js';
import { CompiledGraph } from './executor.js';
import type { ModelOptions, ScheduleTarget } from './model-types.js';
import { checkScheduleLimits } from './plan.js';
import type { Schedule, ScheduleKey } from './schedules.js';
import type { SelfTest } from './self-test.js';
import type * as web from '../platform-types.js';

/**
 * What the planners shape launches for: the adapter's kind unless `forced`, the subgroups it runs (unless switched
 * off), measured tiles, and the variants the self-test found wrong here.
 */
export function launchTarget(
  report: AdapterReport, forced: ModelOptions['target'], tier: 'tuned' | 'quick' = 'tuned', tuning?: TuningChoices,
  o: { subgroups?: boolean; avoid?: ReadonlySet<string> } = {},
): LaunchTarget {
  const isFallback = forced === 'gpu' ? false : forced === 'fallback' ? true : report.isFallback;
  return { isFallback, tier, subgroups: report.features.subgroups && o.subgroups !== false, ...(tuning ? { tuning } : {}), ...(o.avoid ? { avoid: o.avoid } : {}) };
}

export interface CompilerParts {
  spec: ArchSpec;
  packed: Map<string, Float32Array>;
  weights: Map<string, web.GPUBuffer>;
  lib: KernelLibrary;
  report: AdapterReport;
  target: ModelOptions['target'];
  subgroups: boolean;
  /** The model's tiles by tuning key; read at each compile, so tiles added later (background tuning) apply to the next one. */
  tuning: TuningChoices;
  selfTest: SelfTest | undefined;
  /** Throws once the model is disposed: a compile it cut short allocates nothing. */
  assertLive: () => void;
}

/** Shapes ScheduleCompiler.checkLimits remembers as checked. */
const CHECKED_SHAPES = 64;

export class ScheduleCompiler {
  /** Variants the schedules compiled so far run, and each self-test failure's replacement (pipeline keys). */
  readonly #variants = new Set<string>();
  readonly #replaced = new Map<string, string>();
  /** Shapes checkLimits passed, oldest first: a run of a shape seen before does not plan it again. */
  readonly #withinLimits = new Set<string>();

  /** The device class the schedules are shaped for. */
  readonly target: ScheduleTarget['target'];

  constructor(private readonly p: CompilerParts) {
    this.target = launchTarget(p.report, p.target).isFallback ? 'fallback' : 'gpu';
  }

  async compile(key: ScheduleKey, tier: 'tuned' | 'quick'): Promise<Schedule> {
    const { p } = this;
    const t = launchTarget(p.report, p.target, tier, p.tuning.size ? p.tuning : undefined, { subgroups: p.subgroups, avoid: p.selfTest?.avoid });
    let built = buildGraph(p.spec, p.packed, { ...key, target: t });
    // A launch has at most three variants, so this ends (in a SELF_TEST error when none is left).
    while (p.selfTest) {
      await p.selfTest.verify(p.lib, built.ops);
      if (!built.ops.some((o) => p.selfTest!.avoid.has(pipelineKey(o.kernel, o.overrides)))) break;
      built = buildGraph(p.spec, p.packed, { ...key, target: t });
    }
    for (const o of built.ops) this.#variants.add(pipelineKey(o.kernel, o.overrides));
    for (const r of built.replaced) this.#replaced.set(r.from, r.to);
    return { built, compiled: await CompiledGraph.create(p.lib, built, p.weights, p.spec.name, p.assertLive) };
  }

  /**
   * Refuses (LIMIT_EXCEEDED) a shape whose planned graph exceeds the device's buffer or dispatch limits, from the
   * plan alone: before its input is copied or anything compiled. 'auto' checks the tuned tier, the one a run falls
   * back to.
   */
  checkLimits(key: ScheduleKey, tier: 'tuned' | 'quick' | 'auto' | undefined): void {
    const t = tier === 'quick' ? 'quick' : 'tuned';
    const id = `${t}|${key.batch}x${key.height}x${key.width}|${key.layout}|${key.keepStages}|${key.softmax}`;
    if (this.#withinLimits.has(id)) return;
    const { p } = this;
    const graph = buildGraph(p.spec, p.packed, { ...key, target: launchTarget(p.report, p.target, t, undefined, { subgroups: p.subgroups }) });
    checkScheduleLimits(graph, p.lib.device.limits, `${p.spec.name}, batch ${key.batch} at ${key.height}×${key.width}`);
    this.#withinLimits.add(id);
    if (this.#withinLimits.size > CHECKED_SHAPES) this.#withinLimits.delete(this.#withinLimits.values().next().value!);
  }

  /** The self-test's findings for the schedules compiled so far (ScheduleTarget.selfTest). */
  selfTestReport(): ScheduleTarget['selfTest'] {
    const checks = this.p.selfTest?.checks.filter((c) => this.#variants.has(c.variant) || this.#replaced.has(c.variant)) ?? [];
    return {
      enabled: this.p.selfTest !== undefined,
      checked: checks.length,
      ms: checks.reduce((a, c) => a + c.ms, 0),
      failed: checks.filter((c) => c.status === 'fail').map((c) => ({ variant: c.variant, message: c.message, replacedBy: this.#replaced.get(c.variant) })),
      variants: checks.map(({ variant, status, ms, message }) => ({ variant, status, ms, message })),
    };
  }
}
