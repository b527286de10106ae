/**
 * The one place a model's options are checked: `loadModel` calls it before reading any weights byte, so a typo
 * costs nothing, and `Model.create` again for callers that construct models themselves.
 */
import { EffnetError } from '../errors.js';
import type { ModelOptions, RunOptions } from './model-types.js';

const oneOf = <T extends string>(name: string, v: unknown, allowed: readonly T[]): void => {
  if (v !== undefined && !allowed.includes(v as T)) throw new EffnetError('INPUT', `${name} must be ${allowed.map((a) => `'${a}'`).join(', ').replace(/, ([^,]*)$/, ' or $1')}, got '${String(v)}'`);
};

export function checkModelOptions(o: ModelOptions): void {
  oneOf('target', o.target, ['auto', 'gpu', 'fallback']);
  oneOf('tune', o.tune, ['off', 'background']);
  oneOf('selfTest', o.selfTest, ['auto', 'on', 'off']);
  oneOf('preprocess', o.preprocess, ['tfjs', 'torchvision']);
  if (o.tuneBudgetS !== undefined && !(o.tuneBudgetS > 0)) throw new EffnetError('INPUT', `tuneBudgetS must be a positive number of seconds, got ${o.tuneBudgetS}`);
  for (const k of ['quickStart', 'subgroups'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'boolean') throw new EffnetError('INPUT', `${k} must be true or false, got ${String(o[k])}`);
  }
  if (o.scheduleCacheBytes !== undefined && !(o.scheduleCacheBytes >= 0 && Number.isFinite(o.scheduleCacheBytes))) {
    throw new EffnetError('INPUT', `scheduleCacheBytes must be a finite number of bytes ≥ 0, got ${String(o.scheduleCacheBytes)}`);
  }
}

const warned = new Set<string>();

/** A warning about the process's environment (a tuning cache entry dropped), said once per process. */
export function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  console.warn(`effnet-webgpu: ${message}`);
}

/** A run's options, checked before any work: an unknown output kind is an INPUT error naming it. */
export function checkRunOptions(o: RunOptions): void {
  oneOf('output', o.output, ['array', 'gpu-buffer']);
}
