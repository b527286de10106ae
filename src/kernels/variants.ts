/**
 * Which variant of a launch runs, given what this device is known to get wrong. A launch has up to three
 * variants, best first: the tuned tile (when a tuning has one for its key), the planned launch, and the plain
 * one — the simplest kernel computing exactly the same thing with the same bindings and uniforms (a `_tiled` or
 * `_subgroup` kernel's plain sibling, the smallest register tile, the runtime-loop depthwise kernel). A variant
 * that failed the on-device self-test (src/runtime/self-test.ts) is skipped for the next; when none is left the
 * schedule cannot be built correctly on this device, and that is an error, never a wrong answer.
 */
import { EffnetError } from '../errors.js';
import type { Launch, LaunchTarget } from './launch.js';
import { opOfKernel } from './ops.js';
import { pipelineKey } from './library.js';
import { applyTuning } from './tuning.js';

/** The plain variant of `l`, or undefined when `l`'s kernel is already the plain one. */
export function plainLaunch(l: Launch): Launch | undefined {
  const p = opOfKernel(l.kernel)?.plain?.(l);
  return p && pipelineKey(p.kernel, p.overrides) !== pipelineKey(l.kernel, l.overrides) ? p : undefined;
}

/** The variants of a planned launch, best first, each once: tuned (if any), planned, plain (if any). */
export function launchVariants<L extends Launch>(planned: L, target: LaunchTarget): Launch[] {
  const all = [applyTuning(planned, target), planned, plainLaunch(planned)].filter((l): l is Launch => l !== undefined);
  const seen = new Set<string>();
  return all.filter((l) => {
    const k = pipelineKey(l.kernel, l.overrides);
    return !seen.has(k) && (seen.add(k), true);
  });
}

/**
 * The variant that runs: the first of launchVariants not in `target.avoid` (the self-test's failures on this
 * device), and the variant it stands in for when that is not the first.
 */
export function selectLaunch(planned: Launch, target: LaunchTarget): { launch: Launch; replaces?: Launch } {
  const variants = launchVariants(planned, target);
  const ok = variants.find((l) => !target.avoid?.has(pipelineKey(l.kernel, l.overrides)));
  if (!ok) {
    throw new EffnetError('SELF_TEST', `every variant of this ${planned.kernel} launch failed the on-device self-test (${variants.map((l) => pipelineKey(l.kernel, l.overrides)).join('; ')}): this device cannot run it correctly`);
  }
  return ok === variants[0] ? { launch: ok } : { launch: ok, replaces: variants[0]! };
}
