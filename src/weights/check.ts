/**
 * What every weight loader checks before it builds ModelParams: the complete list of tensors the
 * architecture needs (derived from planLayers, never from the file) compared with what the source holds.
 * All mismatches are collected and reported together, so a user converting a checkpoint sees every
 * problem in one run instead of fixing them one error at a time.
 */
import { EffnetError } from '../errors.js';
import { planLayers, type BlockPlan } from '../model/layers.js';
import type { ArchSpec } from '../model/tables.js';
import type { ConvParams, ModelParams } from './params.js';

export type Shape4 = ConvParams['shape'];

/** OIHW shapes of every conv in one block, in the canonical (torchvision) layout; absent = no such conv. */
export interface BlockShapes {
  plan: BlockPlan;
  expand?: Shape4;
  dw?: Shape4;
  se?: { reduce: Shape4; expand: Shape4 };
  project: Shape4;
}

export interface ParamShapes {
  stem: Shape4;
  blocks: BlockShapes[];
  head: Shape4;
  classifier: [outC: number, inC: number];
}

/** The one place that turns a block plan into parameter shapes; every loader and checkModelParams use it. */
export function paramShapes(spec: ArchSpec): ParamShapes {
  const plan = planLayers(spec);
  const blocks = plan.blocks.map((b): BlockShapes => {
    const E = b.expandC, k = b.kernel;
    const hasExpand = E !== b.inC;
    const fused = b.block === 'fused';
    // A fused block without expansion is one k×k conv (inC → outC), recorded as its projection.
    const pk = fused && !hasExpand ? k : 1;
    const out: BlockShapes = { plan: b, project: [b.outC, E, pk, pk] };
    // Fused-MBConv's expansion is the k×k conv; MBConv's is 1×1 and the k×k work is depthwise.
    if (hasExpand) out.expand = [E, b.inC, fused ? k : 1, fused ? k : 1];
    if (!fused) out.dw = [E, 1, k, k];
    if (b.seC > 0) out.se = { reduce: [b.seC, E, 1, 1], expand: [E, b.seC, 1, 1] };
    return out;
  });
  return {
    stem: [plan.stem.outC, 3, 3, 3],
    blocks,
    head: [plan.head.outC, plan.head.inC, 1, 1],
    classifier: [plan.classifier.outC, plan.classifier.inC],
  };
}

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

/**
 * Checks a ModelParams (from any loader, or built by hand) against the architecture: every conv present
 * with the right shape and array lengths. The runtime calls this before packing weights for the GPU.
 */
export function checkModelParams(params: ModelParams, spec: ArchSpec, source = '<ModelParams>'): void {
  const shapes = paramShapes(spec);
  const expected: ExpectedTensor[] = [];
  const found: FoundTensor[] = [];
  const bad: string[] = [];
  const conv = (name: string, want: Shape4 | undefined, got: ConvParams | undefined) => {
    if (want) expected.push({ name, shape: want });
    if (!got) return;
    found.push({ name, shape: got.shape, dtype: 'F32' });
    const numel = got.shape.reduce((a, b) => a * b, 1);
    if (got.weight.length !== numel) bad.push(`${name}.weight has ${got.weight.length} values for shape ${fmtShape(got.shape)}`);
    if (got.bias.length !== got.shape[0]) bad.push(`${name}.bias has ${got.bias.length} values, expected ${got.shape[0]}`);
  };
  conv('stem', shapes.stem, params.stem);
  if (params.blocks.length !== shapes.blocks.length) {
    bad.push(`${params.blocks.length} blocks, architecture has ${shapes.blocks.length}`);
  }
  shapes.blocks.forEach((s, i) => {
    const b = params.blocks[i];
    const n = s.plan.name;
    conv(`${n}.expand`, s.expand, b?.expand);
    conv(`${n}.dw`, s.dw, b?.dw);
    conv(`${n}.se.reduce`, s.se?.reduce, b?.se?.reduce);
    conv(`${n}.se.expand`, s.se?.expand, b?.se?.expand);
    conv(`${n}.project`, s.project, b?.project);
  });
  conv('head', shapes.head, params.head);
  expected.push({ name: 'classifier', shape: shapes.classifier });
  found.push({ name: 'classifier', shape: params.classifier.shape, dtype: 'F32' });
  const [co, ci] = params.classifier.shape;
  if (params.classifier.weight.length !== co * ci || params.classifier.bias.length !== co) {
    bad.push(`classifier arrays do not match shape ${fmtShape(params.classifier.shape)}`);
  }
  if (params.inputAffine && (params.inputAffine.scale.length !== 3 || params.inputAffine.shift.length !== 3)) {
    bad.push('inputAffine needs 3 scale and 3 shift values');
  }
  checkTensorSet({ source, arch: spec.name }, expected, found);
  if (bad.length > 0) throw new EffnetError('WEIGHTS', `${source}: ${bad.join('; ')}`);
}
