/**
 * What every weight loader checks before it builds ModelParams: the complete list of tensors the
 * architecture needs (the parameter tensors of its op list, never the file's) compared with what the source holds.
 * All mismatches are collected and reported together, so a user converting a checkpoint sees every
 * problem in one run instead of fixing them one error at a time.
 */
import { EffnetError } from '../errors.js';
import { layerOps } from '../model/layers.js';
import { paramTensors, type LayerParams } from '../model/ops.js';
import type { ArchSpec } from '../model/tables.js';
import type { ModelParams } from './params.js';

export interface ExpectedTensor {
  name: string;
  shape: readonly number[];
}

export interface FoundTensor {
  name: string;
  shape: readonly number[];
  dtype: string;
}

export interface CheckContext {
  /** Names the weights in messages: a file path, URL or '<buffer>'. */
  source: string;
  /** The architecture the weights were checked against. */
  arch: string;
}

export interface CheckOptions {
  /** Tensors the format carries that the engine does not use (torchvision's num_batches_tracked). */
  ignore?: (name: string) => boolean;
  /** Listing cap per kind of problem; the count is always complete. */
  cap?: number;
}

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64', 'float32', 'float16']);

const fmtShape = (s: readonly number[]) => `[${s.join(',')}]`;

function listing(label: string, items: string[], cap: number): string {
  if (items.length === 0) return '';
  const shown = items.slice(0, cap).join(', ');
  const more = items.length > cap ? `, … and ${items.length - cap} more` : '';
  return `\n  ${items.length} ${label}: ${shown}${more}`;
}

/**
 * Compares the expected tensor list with the source's; throws ONE EffnetError('WEIGHTS') that lists every
 * missing, unexpected, mis-shaped and non-float tensor (each kind capped at `cap` names, default 20).
 */
export function checkTensorSet(
  ctx: CheckContext,
  expected: readonly ExpectedTensor[],
  found: Iterable<FoundTensor>,
  opts: CheckOptions = {},
): void {
  const cap = opts.cap ?? 20;
  const present = new Map<string, FoundTensor>();
  for (const t of found) present.set(t.name, t);
  const wanted = new Set(expected.map((e) => e.name));

  const missing: string[] = [], misshaped: string[] = [], nonFloat: string[] = [], unexpected: string[] = [];
  for (const e of expected) {
    const t = present.get(e.name);
    if (!t) {
      missing.push(`${e.name} ${fmtShape(e.shape)}`);
      continue;
    }
    if (t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
      misshaped.push(`${e.name} is ${fmtShape(t.shape)}, expected ${fmtShape(e.shape)}`);
    }
    if (!FLOAT_DTYPES.has(t.dtype)) nonFloat.push(`${e.name} (${t.dtype})`);
  }
  for (const name of present.keys()) {
    if (!wanted.has(name) && !opts.ignore?.(name)) unexpected.push(name);
  }
  const problems = missing.length + unexpected.length + misshaped.length + nonFloat.length;
  if (problems === 0) return;
  throw new EffnetError(
    'WEIGHTS',
    `${ctx.source}: weights do not match architecture '${ctx.arch}' ` +
      `(${expected.length} tensors expected, ${present.size} present, ${problems} problems):` +
      listing('missing', missing, cap) +
      listing('unexpected', unexpected, cap) +
      listing('with the wrong shape', misshaped, cap) +
      listing('with a non-float dtype', nonFloat, cap),
  );
}

/** NaN or ±Inf in a weight would silently poison every output; name the tensor and the first bad index. */
export function assertFinite(source: string, name: string, data: ArrayLike<number>): void {
  let bad = 0, first = -1;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (bad > 0) {
    throw new EffnetError(
      'WEIGHTS',
      `${source}: tensor '${name}' has ${bad} non-finite value(s); the first is ${data[first]} at flat index ${first}`,
    );
  }
}

/** Every parameter tensor `p` holds, under its canonical key; `blockNames[i]` names block i. */
function heldParams(p: ModelParams, blockNames: readonly string[]): [string, LayerParams][] {
  const entries = (prefix: string, holder: object): [string, LayerParams][] =>
    Object.entries(holder).flatMap(([slot, v]: [string, LayerParams | Record<string, LayerParams> | undefined]) => {
      if (!v || slot === 'blocks' || slot === 'inputAffine') return [];
      const key = prefix ? `${prefix}.${slot}` : slot;
      // SE holds its two convs one level down.
      return 'weight' in v ? [[key, v as LayerParams]] : entries(key, v);
    });
  return [...entries('', p), ...p.blocks.flatMap((b, i) => (i < blockNames.length ? entries(blockNames[i]!, b) : []))];
}

/**
 * Checks a ModelParams (from any loader, or built by hand) against the architecture: every parameter tensor
 * present with the right shape and array lengths, nothing extra. The runtime calls this before packing.
 */
export function checkModelParams(params: ModelParams, spec: ArchSpec, source = '<ModelParams>'): void {
  const ops = layerOps(spec);
  const blockNames = [...new Map(ops.flatMap((o) => (o.owner ? [[o.owner.index, o.module] as const] : []))).values()];
  const expected: ExpectedTensor[] = paramTensors(ops).map((t) => ({ name: t.key, shape: t.shape }));
  const found: FoundTensor[] = [];
  const bad: string[] = [];
  if (params.blocks.length !== blockNames.length) bad.push(`${params.blocks.length} blocks, architecture has ${blockNames.length}`);
  for (const [name, got] of heldParams(params, blockNames)) {
    found.push({ name, shape: got.shape, dtype: 'F32' });
    const numel = got.shape.reduce((a, b) => a * b, 1);
    if (got.weight.length !== numel) bad.push(`${name}.weight has ${got.weight.length} values for shape ${fmtShape(got.shape)}`);
    if (got.bias.length !== got.shape[0]) bad.push(`${name}.bias has ${got.bias.length} values, expected ${got.shape[0]}`);
  }
  if (params.inputAffine && (params.inputAffine.scale.length !== 3 || params.inputAffine.shift.length !== 3)) {
    bad.push('inputAffine needs 3 scale and 3 shift values');
  }
  checkTensorSet({ source, arch: spec.name }, expected, found);
  if (bad.length > 0) throw new EffnetError('WEIGHTS', `${source}: ${bad.join('; ')}`);
}
