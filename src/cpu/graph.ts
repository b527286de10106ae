/**
 * The network as the peers' file formats see it: a flat list of primitive nodes (conv, sigmoid, mul, add,
 * global mean, fully connected, input affine) built by walking our op list (src/model/layers.ts) over our
 * canonical BN-folded ModelParams. The TFLite and ONNX writers both emit this one list, so what the network
 * computes is decided here once, and each writer only translates layouts and op names.
 *
 * Semantics follow src/reference/forward.ts: stem conv + SiLU, depthwise + SiLU, SE gate
 * sigmoid(W_e·silu(W_r·mean(x) + b_r) + b_e) multiplied into the projection's input, residual added after
 * the projection, head conv + SiLU, global mean, linear. `inputAffine` is applied before the stem's padding.
 */
import { EffnetError } from '../errors.js';
import { layerOps, type NetOp } from '../model/layers.js';
import { convGeometry } from '../kernels/geometry.js';
import type { ArchSpec } from '../model/tables.js';
import { paramValue, type ModelParams } from '../weights/params.js';
import type { LayerParams } from '../model/ops.js';

/** A tensor of the graph: C channels of H × W per image (rank 2, [N, C], when `flat`). */
export interface GTensor {
  name: string;
  C: number;
  H: number;
  W: number;
  flat?: boolean;
}

/** Zero padding per side, in input pixels. */
export interface Pads {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

export type GNode =
  /** y = x · scale[c] + shift[c] (weights whose graph normalises its own input, e.g. TF-Hub's). */
  | { op: 'affine'; x: GTensor; y: GTensor; scale: number[]; shift: number[] }
  /**
   * Dense (groups 1) or depthwise (groups = C) conv with bias, weights OIHW ([C, 1, k, k] when depthwise).
   * `pads` is the padding the network means; `tfSame` says TensorFlow's SAME rule gives exactly it, so a
   * format with a SAME mode may use that instead of an explicit pad.
   */
  | { op: 'conv'; x: GTensor; y: GTensor; weight: Float32Array; bias: Float32Array; k: number; stride: number; depthwise: boolean; pads: Pads; tfSame: boolean }
  | { op: 'sigmoid'; x: GTensor; y: GTensor }
  /** Elementwise product; `b` may be [N, C, 1, 1] broadcast over H × W (the SE gate). */
  | { op: 'mul'; a: GTensor; b: GTensor; y: GTensor }
  | { op: 'add'; a: GTensor; b: GTensor; y: GTensor }
  /** Mean over H × W: keeps the 1 × 1 spatial dims, or flattens to [N, C] when `y.flat`. */
  | { op: 'mean'; x: GTensor; y: GTensor }
  /** [N, in] → [N, out], weight [out, in] (torch Linear's layout). */
  | { op: 'fc'; x: GTensor; y: GTensor; weight: Float32Array; bias: Float32Array };

export interface PeerGraph {
  spec: ArchSpec;
  res: number;
  batch: number;
  input: GTensor;
  output: GTensor;
  nodes: GNode[];
  /** Per node, the profiling pass of the op it lowers (`stem`, `stage1` …, `head`: layers.ts's `pass`). */
  passes: string[];
}

/** Pads of one conv axis pair and whether TF SAME would produce the same (out size and leading pad alike). */
function convPads(spec: ArchSpec, H: number, W: number, k: number, s: number): { pads: Pads; tfSame: boolean; outH: number; outW: number } {
  const gy = convGeometry(H, k, s, spec.padding);
  const gx = convGeometry(W, k, s, spec.padding);
  const sy = convGeometry(H, k, s, 'same');
  const sx = convGeometry(W, k, s, 'same');
  // After-padding beyond what the last window reads changes nothing; what must match is out and padBefore.
  const tfSame = gy.out === sy.out && gx.out === sx.out && gy.padBefore === sy.padBefore && gx.padBefore === sx.padBefore;
  // The padding a VALID conv needs to produce exactly `out` windows: trailing rows no window reads are dropped.
  const after = (size: number, g: { out: number; padBefore: number }) => Math.max(0, (g.out - 1) * s + k - size - g.padBefore);
  return { pads: { top: gy.padBefore, bottom: after(H, gy), left: gx.padBefore, right: after(W, gx) }, tfSame, outH: gy.out, outW: gx.out };
}

function need(p: LayerParams | undefined, op: NetOp, part?: string): LayerParams {
  if (!p) throw new EffnetError('WEIGHTS', `peer model: the parameters lack ${op.param}${part ? `.${part}` : ''}`);
  return p;
}

function expectShape(p: LayerParams, want: number[], what: string): LayerParams {
  if (p.shape.join() !== want.join()) throw new EffnetError('WEIGHTS', `peer model: ${what} has shape [${p.shape.join(', ')}], the network needs [${want.join(', ')}]`);
  if (p.weight.length !== want.reduce((a, b) => a * b, 1) || p.bias.length !== want[0]) {
    throw new EffnetError('WEIGHTS', `peer model: ${what} holds ${p.weight.length} weights and ${p.bias.length} biases for shape [${want.join(', ')}]`);
  }
  return p;
}

/** The primitive graph of `spec` at res × res, batch `batch`, with `params`' weights. */
export function peerGraph(spec: ArchSpec, params: ModelParams, res: number, batch: number): PeerGraph {
  if (!Number.isInteger(res) || res < 8) throw new EffnetError('INPUT', `peer model: resolution must be an integer ≥ 8, got ${res}`);
  if (!Number.isInteger(batch) || batch < 1) throw new EffnetError('INPUT', `peer model: batch must be a positive integer, got ${batch}`);
  const ops = layerOps(spec, res);
  const nodes: GNode[] = [];
  const passes: string[] = [];
  let pass = ops[0]?.pass ?? 'stem';
  const input: GTensor = { name: 'input', C: 3, H: res, W: res };
  const results: GTensor[] = [];
  let n = 0;
  const t = (base: string, C: number, H: number, W: number, flat?: boolean): GTensor => ({ name: `${base}#${n++}`, C, H, W, ...(flat ? { flat } : {}) });
  const src = (i: number | undefined, at: NetOp): GTensor => {
    const r = i === undefined || i < 0 ? first : results[i];
    if (!r) throw new EffnetError('MODEL_SPEC', `peer model: ${at.name} reads op ${i}, which has no result`);
    return r;
  };
  const silu = (x: GTensor, name: string): GTensor => {
    const s = t(`${name}.sigmoid`, x.C, x.H, x.W);
    const y = t(`${name}.silu`, x.C, x.H, x.W);
    nodes.push({ op: 'sigmoid', x, y: s }, { op: 'mul', a: x, b: s, y });
    return y;
  };
  const conv = (x: GTensor, p: LayerParams, k: number, stride: number, depthwise: boolean, name: string): GTensor => {
    const outC = p.shape[0]!;
    const g = convPads(spec, x.H, x.W, k, stride);
    const y = t(name, outC, g.outH, g.outW);
    nodes.push({ op: 'conv', x, y, weight: p.weight, bias: p.bias, k, stride, depthwise, pads: g.pads, tfSame: g.tfSame });
    return y;
  };

  let first = input;
  if (params.inputAffine) {
    const { scale, shift } = params.inputAffine;
    if (scale.length !== 3 || shift.length !== 3) throw new EffnetError('WEIGHTS', `peer model: inputAffine needs 3 scales and 3 shifts, got ${scale.length} and ${shift.length}`);
    first = t('input.affine', 3, res, res);
    nodes.push({ op: 'affine', x: input, y: first, scale, shift });
  }

  for (const op of ops) {
    // Every node pushed while lowering `op` belongs to its pass (the input affine, pushed first, to the stem's).
    passes.push(...Array<string>(nodes.length - passes.length).fill(pass));
    pass = op.pass;
    const o = op.op;
    const x = src(op.x, op);
    const p = (part?: string) => need(paramValue(params, op, part), op, part);
    let y: GTensor;
    switch (o.kind) {
      case 'stem':
        y = silu(conv(x, expectShape(p(), [o.outC, o.inC, o.k, o.k], op.param), o.k, o.s, false, op.name), op.name);
        break;
      case 'dwconv':
        y = silu(conv(x, expectShape(p(), [o.C, 1, o.k, o.k], op.param), o.k, o.s, true, op.name), op.name);
        break;
      case 'se': {
        const reduce = expectShape(p('reduce'), [o.seC, o.C, 1, 1], `${op.param}.reduce`);
        const expand = expectShape(p('expand'), [o.C, o.seC, 1, 1], `${op.param}.expand`);
        const pooled = t(`${op.name}.mean`, o.C, 1, 1);
        nodes.push({ op: 'mean', x, y: pooled });
        const r = silu(conv(pooled, reduce, 1, 1, false, `${op.name}.reduce`), `${op.name}.reduce`);
        const e = conv(r, expand, 1, 1, false, `${op.name}.expand`);
        y = t(`${op.name}.gate`, o.C, 1, 1);
        nodes.push({ op: 'sigmoid', x: e, y });
        break;
      }
      case 'pwconv':
      case 'fused':
      case 'head': {
        const k = o.kind === 'fused' ? o.k : 1;
        const s = o.kind === 'fused' ? o.s : 1;
        let inX = x;
        if (op.gate !== undefined) {
          const gate = src(op.gate, op);
          inX = t(`${op.name}.gated`, x.C, x.H, x.W);
          nodes.push({ op: 'mul', a: x, b: gate, y: inX });
        }
        y = conv(inX, expectShape(p(), [o.outC, o.inC, k, k], op.param), k, s, false, op.name);
        if (o.kind === 'head' || o.act === 'silu') y = silu(y, op.name);
        if (op.res !== undefined) {
          const sum = t(`${op.name}.residual`, y.C, y.H, y.W);
          nodes.push({ op: 'add', a: y, b: src(op.res, op), y: sum });
          y = sum;
        }
        break;
      }
      case 'classifier': {
        const w = expectShape(p(), [o.outC, o.inC], op.param);
        const pooled = t('head.pool', o.inC, 1, 1, true);
        nodes.push({ op: 'mean', x, y: pooled });
        y = { name: 'logits', C: o.outC, H: 1, W: 1, flat: true };
        nodes.push({ op: 'fc', x: pooled, y, weight: w.weight, bias: w.bias });
        break;
      }
      default:
        throw new EffnetError('MODEL_SPEC', `peer model: no TFLite/ONNX lowering for op kind '${(o as { kind: string }).kind}' (${op.name})`);
    }
    results[op.index] = y;
  }
  passes.push(...Array<string>(nodes.length - passes.length).fill(pass));
  const output = results[results.length - 1]!;
  if (output.name !== 'logits') throw new EffnetError('MODEL_SPEC', `peer model: the op list of ${spec.name} does not end in the classifier`);
  return { spec, res, batch, input, output, nodes, passes };
}

/**
 * The part of `g` that one profiling pass runs, as a graph of its own: its input is the one tensor the pass reads
 * from before it (the previous pass's result), its output the pass's last result. How `profile --backend cpu`
 * times each stage on a runtime that has no per-node profiler.
 */
export function passGraph(g: PeerGraph, pass: string): PeerGraph {
  const nodes = g.nodes.filter((_, i) => g.passes[i] === pass);
  if (nodes.length === 0) throw new EffnetError('INPUT', `${g.spec.name} has no pass '${pass}' (it has ${[...new Set(g.passes)].join(', ')})`);
  const made = new Set(nodes.map((n) => n.y.name));
  const read = nodes.flatMap((n) => ('x' in n ? [n.x] : [n.a, n.b])).filter((t) => !made.has(t.name));
  const inputs = [...new Map(read.map((t) => [t.name, t])).values()];
  if (inputs.length !== 1) throw new EffnetError('MODEL_SPEC', `pass '${pass}' of ${g.spec.name} reads ${inputs.length} tensors from before it (${inputs.map((t) => t.name).join(', ')}); a pass graph takes one`);
  return { ...g, input: inputs[0]!, output: nodes[nodes.length - 1]!.y, nodes, passes: nodes.map(() => pass) };
}
