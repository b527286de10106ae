/**
 * Builder: stage table + packed weights → the op graph of one inference at a given batch and input size,
 * with every fusion applied (BN folded at pack time; SiLU, bias, residual add and the SE gate fused into
 * the convs; the SE squeeze fused into the depthwise conv). The model is data: nothing here looks at the
 * architecture's name, only at the planned blocks.
 */
import type { ArchSpec } from '../model/tables.js';
import { planLayers } from '../model/layers.js';
import type { ModelParams, ConvParams } from '../weights/params.js';
import { stemLaunch, packStem, denseStrides } from '../kernels/stem.js';
import { dwconvLaunch, packDwconv } from '../kernels/dwconv.js';
import { fusedConvLaunch, packFusedConv, type LaunchTarget } from '../kernels/fused_conv.js';
import { pointwiseLaunch, packPointwise } from '../kernels/pointwise.js';
import { seExciteLaunch, packSe } from '../kernels/se.js';
import { poolLaunch } from '../kernels/pool.js';
import { softmaxLaunch } from '../kernels/softmax.js';
import type { BlockKind, Graph, Op, Ref, TensorSpec } from './graph.js';

export type InputLayout = 'nchw' | 'nhwc';

export interface BuildOptions {
  batch: number;
  height: number;
  width: number;
  layout: InputLayout;
  /** Keep every `features.i` output readable after the run (verification). */
  keepStages: boolean;
  /** Append a softmax: the output is probabilities instead of logits. */
  softmax: boolean;
  /** What the tile planners size register tiles for (a software rasteriser wants bigger tiles). */
  target: LaunchTarget;
}

/** A stage output the graph keeps when asked: torchvision's `features.i` name and its tensor. */
export interface StageOutput {
  name: string;
  tensor: number;
}

export interface BuiltGraph extends Graph {
  stageOutputs: StageOutput[];
  classes: number;
}

const c4 = (c: number) => Math.ceil(c / 4);
const pw = (p: ConvParams) => ({ inC: p.shape[1], outC: p.shape[0] });

/**
 * Pack every weight into its kernel's layout once per model; the result does not depend on batch or
 * input size, so re-planning for a new shape reuses the uploaded buffers.
 */
export function packModel(spec: ArchSpec, params: ModelParams): Map<string, Float32Array> {
  const plan = planLayers(spec);
  const out = new Map<string, Float32Array>();
  const put = (key: string, packed: { w: Float32Array; b: Float32Array }) => {
    out.set(`${key}.w`, packed.w);
    out.set(`${key}.b`, packed.b);
  };
  put('stem', packStem(params.stem.weight, params.stem.bias, plan.stem.outC));
  if (params.inputAffine) out.set('input.affine', new Float32Array([...params.inputAffine.scale, ...params.inputAffine.shift]));
  plan.blocks.forEach((b, i) => {
    const p = params.blocks[i]!;
    const key = b.name;
    if (p.expand) {
      if (b.block === 'mbconv') put(`${key}.expand`, packPointwise(p.expand.weight, p.expand.bias, b.inC, b.expandC));
      else put(`${key}.expand`, packFusedConv(p.expand.weight, p.expand.bias, b.inC, b.expandC, b.kernel));
    }
    if (p.dw) put(`${key}.dw`, packDwconv(p.dw.weight, p.dw.bias, b.expandC, b.kernel));
    if (p.se) {
      const s = packSe(p.se.reduce.weight, p.se.reduce.bias, p.se.expand.weight, p.se.expand.bias, b.expandC, b.seC);
      out.set(`${key}.se.w1`, s.w1);
      out.set(`${key}.se.b1`, s.b1);
      out.set(`${key}.se.w2`, s.w2);
      out.set(`${key}.se.b2`, s.b2);
    }
    const proj = p.project;
    if (proj.shape[2] === 1) put(`${key}.project`, packPointwise(proj.weight, proj.bias, pw(proj).inC, pw(proj).outC));
    else put(`${key}.project`, packFusedConv(proj.weight, proj.bias, b.inC, b.outC, b.kernel));
  });
  put('head', packPointwise(params.head.weight, params.head.bias, plan.head.inC, plan.head.outC));
  put('classifier', packPointwise(params.classifier.weight, params.classifier.bias, plan.classifier.inC, plan.classifier.outC));
  return out;
}

export function buildGraph(spec: ArchSpec, weights: Map<string, Float32Array>, opts: BuildOptions): BuiltGraph {
  const N = opts.batch;
  const plan = planLayers(spec, opts.height);
  const tensors: TensorSpec[] = [];
  const ops: Op[] = [];
  const keep: number[] = [];
  const stageOutputs: StageOutput[] = [];
  const tensor = (name: string, n: number, h: number, w: number, c: number): number => {
    const id = tensors.length;
    tensors.push({ id, name, bytes: n * h * w * c4(c) * 16, shape: { n, h, w, c, c4: c4(c) } });
    return id;
  };
  const bytesOf = (...refs: Ref[]) =>
    refs.reduce((a, r) => a + ('tensor' in r ? tensors[r.tensor]!.bytes : 'weight' in r ? weights.get(r.weight)!.byteLength : 0), 0);
  const W = (key: string): Ref => ({ weight: key });
  const T = (id: number): Ref => ({ tensor: id });
  const none: Ref = { dummy: true };
  const add = (
    name: string, stage: string, block: BlockKind,
    launch: { kernel: string; overrides: Op['overrides']; uniforms: Op['uniforms']; workgroups: number },
    bind: Record<string, Ref>, flops: number,
  ) => {
    ops.push({ name, stage, block, ...launch, bind, flops, bytes: bytesOf(...Object.values(bind)) });
  };

  // Input: raw float32 image batch, read by the stem through element strides (no transpose pass).
  const inputId = tensors.length;
  tensors.push({ id: inputId, name: 'input', bytes: N * 3 * opts.height * opts.width * 4, shape: { n: N, h: opts.height, w: opts.width, c: 3, c4: 1 } });

  const st = plan.stem;
  const a = weights.get('input.affine');
  const affine = a && { scale: [...a.subarray(0, 3)], shift: [...a.subarray(3, 6)] };
  const stemOut = tensor('features.0', N, st.outH, st.outW, st.outC);
  add('features.0.stem', 'stem', 'stem',
    stemLaunch({ N, outC: st.outC, H: opts.height, W: opts.width, padding: spec.padding, strides: denseStrides(opts.layout, opts.height, opts.width), affine }, opts.target),
    { x: T(inputId), w: W('stem.w'), b: W('stem.b'), y: T(stemOut) },
    2 * N * st.outH * st.outW * st.outC * 27);
  stageOutputs.push({ name: 'features.0', tensor: stemOut });

  let x = stemOut;
  plan.blocks.forEach((b, i) => {
    const stage = `stage${b.stage}`;
    const key = b.name;
    const kind: BlockKind = b.block;
    const expanded = b.expandC !== b.inC;
    const hasSe = b.seC > 0;
    let h = x;
    let seGate: number | undefined;
    if (b.block === 'mbconv') {
      if (expanded) {
        const e = tensor(`${key}.expand`, N, b.inH, b.inW, b.expandC);
        add(`${key}.expand`, stage, kind,
          pointwiseLaunch({ N, H: b.inH, W: b.inW, inC: b.inC, outC: b.expandC, act: 'silu', residual: false, seScale: false }, opts.target),
          { x: T(h), w: W(`${key}.expand.w`), b: W(`${key}.expand.b`), se: none, res: none, y: T(e) },
          2 * N * b.inH * b.inW * b.inC * b.expandC);
        h = e;
      }
      const dl = dwconvLaunch({ N, C: b.expandC, H: b.inH, W: b.inW, k: b.kernel, s: b.stride, padding: spec.padding, squeeze: hasSe }, opts.target);
      const d = tensor(`${key}.dw`, N, dl.outH, dl.outW, b.expandC);
      let part: Ref = none;
      if (hasSe) {
        const id = tensors.length;
        tensors.push({ id, name: `${key}.se.part`, bytes: N * dl.partSlots * c4(b.expandC) * 16, shape: { n: N, h: dl.partSlots, w: 1, c: b.expandC, c4: c4(b.expandC) } });
        part = T(id);
      }
      add(`${key}.dwconv`, stage, kind, dl,
        { x: T(h), w: W(`${key}.dw.w`), b: W(`${key}.dw.b`), y: T(d), part },
        2 * N * dl.outH * dl.outW * b.expandC * b.kernel * b.kernel);
      h = d;
      if (hasSe) seGate = excite(key, stage, kind, part, b.expandC, b.seC, dl.outH, dl.outW, dl.partSlots);
    } else if (expanded) {
      const fl = fusedConvLaunch({ N, inC: b.inC, outC: b.expandC, H: b.inH, W: b.inW, k: b.kernel, s: b.stride, padding: spec.padding, act: 'silu', residual: false }, opts.target);
      const e = tensor(`${key}.expand`, N, fl.outH, fl.outW, b.expandC);
      add(`${key}.expand`, stage, kind, fl,
        { x: T(h), w: W(`${key}.expand.w`), b: W(`${key}.expand.b`), res: none, y: T(e) },
        2 * N * fl.outH * fl.outW * b.inC * b.expandC * b.kernel * b.kernel);
      h = e;
      if (hasSe) {
        // Fused blocks have no depthwise pass to fuse the squeeze into: pool the expansion instead
        // (one partial slot holding the mean, so the excite divides by 1).
        const pl = poolLaunch({ N, C: b.expandC, H: fl.outH, W: fl.outW });
        const id = tensor(`${key}.se.part`, N, 1, 1, b.expandC);
        add(`${key}.se.squeeze`, stage, kind, pl, { x: T(h), y: T(id) }, N * fl.outH * fl.outW * b.expandC);
        seGate = excite(key, stage, kind, T(id), b.expandC, b.seC, 1, 1, 1);
      }
    }
    const y = tensor(key, N, b.outH, b.outW, b.outC);
    const res = b.residual ? T(x) : none;
    if (b.block === 'fused' && !expanded) {
      add(`${key}.conv`, stage, kind,
        fusedConvLaunch({ N, inC: b.inC, outC: b.outC, H: b.inH, W: b.inW, k: b.kernel, s: b.stride, padding: spec.padding, act: 'silu', residual: b.residual }, opts.target),
        { x: T(h), w: W(`${key}.project.w`), b: W(`${key}.project.b`), res, y: T(y) },
        2 * N * b.outH * b.outW * b.inC * b.outC * b.kernel * b.kernel);
    } else {
      add(`${key}.project`, stage, kind,
        pointwiseLaunch({ N, H: b.outH, W: b.outW, inC: b.expandC, outC: b.outC, act: 'none', residual: b.residual, seScale: seGate !== undefined }, opts.target),
        { x: T(h), w: W(`${key}.project.w`), b: W(`${key}.project.b`), se: seGate === undefined ? none : T(seGate), res, y: T(y) },
        2 * N * b.outH * b.outW * b.expandC * b.outC);
    }
    x = y;
    const last = plan.blocks[i + 1]?.stage !== b.stage;
    if (last) stageOutputs.push({ name: `features.${b.stage}`, tensor: y });
  });

  const hd = plan.head;
  const headOut = tensor(`features.${plan.blocks[plan.blocks.length - 1]!.stage + 1}`, N, hd.H, hd.W, hd.outC);
  add('head.conv', 'head', 'head',
    pointwiseLaunch({ N, H: hd.H, W: hd.W, inC: hd.inC, outC: hd.outC, act: 'silu', residual: false, seScale: false }, opts.target),
    { x: T(x), w: W('head.w'), b: W('head.b'), se: none, res: none, y: T(headOut) },
    2 * N * hd.H * hd.W * hd.inC * hd.outC);
  stageOutputs.push({ name: tensors[headOut]!.name, tensor: headOut });
  const pooled = tensor('head.pool', N, 1, 1, hd.outC);
  add('head.pool', 'head', 'head', poolLaunch({ N, C: hd.outC, H: hd.H, W: hd.W }), { x: T(headOut), y: T(pooled) }, N * hd.H * hd.W * hd.outC);
  const cls = plan.classifier;
  const logits = tensor('logits', N, 1, 1, cls.outC);
  add('head.classifier', 'head', 'head',
    pointwiseLaunch({ N, H: 1, W: 1, inC: cls.inC, outC: cls.outC, act: 'none', residual: false, seScale: false }, opts.target),
    { x: T(pooled), w: W('classifier.w'), b: W('classifier.b'), se: none, res: none, y: T(logits) },
    2 * N * cls.inC * cls.outC);
  let output = logits;
  if (opts.softmax) {
    output = tensor('probabilities', N, 1, 1, cls.outC);
    add('head.softmax', 'head', 'head', softmaxLaunch({ N, K: cls.outC }), { x: T(logits), y: T(output) }, 0);
  }
  if (opts.keepStages) keep.push(...stageOutputs.map((s) => s.tensor));
  return { ops, tensors, input: inputId, output, keep, weights, stageOutputs, classes: cls.outC };

  function excite(key: string, stage: string, kind: BlockKind, part: Ref, C: number, seC: number, h: number, w: number, slots: number): number {
    const gate = tensor(`${key}.se.gate`, N, 1, 1, C);
    add(`${key}.se`, stage, kind, seExciteLaunch({ N, C, seC, H: h, W: w, partSlots: slots }),
      { part, w1: W(`${key}.se.w1`), b1: W(`${key}.se.b1`), w2: W(`${key}.se.w2`), b2: W(`${key}.se.b2`), se: T(gate) },
      4 * N * C * seC);
    return gate;
  }
}
