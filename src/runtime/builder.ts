/**
 * Builder: the op list (model/layers.ts) + packed weights → the op graph of one inference at a given batch
 * and input size. Each op lowers through the op table (model/ops.ts), which applies the fusions: BN folded
 * at pack time; SiLU, bias, the residual add and the SE gate in the convs; the SE squeeze in the depthwise
 * conv that feeds it (a pooling pass where no conv can); the global pool ahead of the classifier. The model
 * is data: nothing here looks at the architecture's name or at a block kind.
 */
import { createBuffer } from '../buffers.js';
import type { ArchSpec } from '../model/tables.js';
import { layerOps } from '../model/layers.js';
import { opDef, paramTensors, type Lowering, type NetOp } from '../model/ops.js';
import { paramValue, type ModelParams } from '../weights/params.js';
import type { LaunchTarget } from '../kernels/launch.js';
import { softmaxLaunch } from '../kernels/softmax.js';
import { pipelineKey } from '../kernels/library.js';
import { selectLaunch } from '../kernels/variants.js';
import type { Graph, Op, Ref, TensorRef, TensorSpec } from './graph.js';
import type * as web from '../platform-types.js';

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

/** A launch that runs another variant than its best one, because the best failed the self-test on this device. */
export interface Replacement {
  op: string;
  /** Pipeline keys (`kernel|overrides`): the variant skipped and the one that runs. */
  from: string;
  to: string;
}

export interface BuiltGraph extends Graph {
  stageOutputs: StageOutput[];
  classes: number;
  replaced: Replacement[];
}

/**
 * Pack every weight into its kernel's layout once per model; the result does not depend on batch or
 * input size, so re-planning for a new shape reuses the uploaded buffers.
 */
export function packModel(spec: ArchSpec, params: ModelParams): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const op of layerOps(spec)) {
    const values = paramTensors([op]).map((t) => paramValue(params, op, t.part)!);
    for (const [suffix, packed] of Object.entries(opDef(op.op.kind).pack(op.op as never, values))) out.set(`${op.param}.${suffix}`, packed);
  }
  if (params.inputAffine) out.set('input.affine', new Float32Array([...params.inputAffine.scale, ...params.inputAffine.shift]));
  return out;
}

/** Every packed weight as a storage buffer on `device`, into `into` (so a caller can destroy what was made if one fails). */
export function uploadWeights(device: web.GPUDevice, packed: Map<string, Float32Array>, into: Map<string, web.GPUBuffer>): void {
  for (const [key, data] of packed) {
    into.set(key, createBuffer(device, { label: `weight ${key}`, bytes: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, data }));
  }
}

export function buildGraph(spec: ArchSpec, weights: Map<string, Float32Array>, opts: BuildOptions): BuiltGraph {
  const N = opts.batch;
  const net = layerOps(spec, opts.height);
  const tensors: TensorSpec[] = [];
  const ops: Op[] = [];
  const tensor = (name: string, n: number, h: number, w: number, c: number, c4: number, bytes: number): TensorRef => {
    const id = tensors.length;
    tensors.push({ id, name, bytes, shape: { n, h, w, c, c4 } });
    return { tensor: id };
  };
  // NHWC with channels padded to vec4s; the raw input is dense float32, read by the stem through element
  // strides (no transpose pass).
  const activation = (name: string, h: number, w: number, c: number) => tensor(name, N, h, w, c, Math.ceil(c / 4), N * h * w * Math.ceil(c / 4) * 16);
  const input = tensor('input', N, opts.height, opts.width, 3, 1, N * 3 * opts.height * opts.width * 4);
  const bytesOf = (bind: Record<string, Ref>) =>
    Object.values(bind).reduce((a, r) => a + ('tensor' in r ? tensors[r.tensor]!.bytes : 'weight' in r ? weights.get(r.weight)!.byteLength : 0), 0);

  const results: TensorRef[] = [];
  const replaced: Replacement[] = [];
  const readers = new Map<number, NetOp[]>();
  for (const op of net) for (const i of [op.x, op.res, op.gate]) if (i !== undefined) readers.set(i, [...(readers.get(i) ?? []), op]);
  const a = weights.get('input.affine');
  const g: Lowering = {
    N,
    target: opts.target,
    input: { layout: opts.layout, height: opts.height, width: opts.width, affine: a && { scale: [...a.subarray(0, 3)], shift: [...a.subarray(3, 6)] } },
    none: { dummy: true },
    result: (i) => (i < 0 ? input : results[i]!),
    readers: (i) => readers.get(i) ?? [],
    squeezes: new Map(),
    tensor: activation,
    weight: (op, suffix) => ({ weight: `${op.param}.${suffix}` }),
    launch(op, name, planned, bind, flops) {
      const { launch: l, replaces } = selectLaunch(planned, opts.target);
      if (replaces) replaced.push({ op: name, from: pipelineKey(replaces.kernel, replaces.overrides), to: pipelineKey(l.kernel, l.overrides) });
      ops.push({ name, stage: op.pass, block: op.block, kernel: l.kernel, overrides: l.overrides, uniforms: l.uniforms, workgroups: l.workgroups, bind, flops, bytes: bytesOf(bind) });
    },
  };
  const stageOutputs: StageOutput[] = [];
  for (const op of net) {
    const result = opDef(op.op.kind).lower(op as never, g);
    results.push(result);
    if (op.feature) stageOutputs.push({ name: op.feature, tensor: result.tensor });
  }

  const last = net[net.length - 1]!;
  let output = results[last.index]!;
  if (opts.softmax) {
    const logits = output;
    output = activation('probabilities', 1, 1, last.out.C);
    g.launch(last, `${last.pass}.softmax`, softmaxLaunch({ N, K: last.out.C }, opts.target), { x: logits, y: output }, 0);
  }
  return {
    ops,
    tensors,
    input: input.tensor,
    output: output.tensor,
    keep: opts.keepStages ? stageOutputs.map((s) => s.tensor) : [],
    weights,
    stageOutputs,
    classes: last.out.C,
    replaced,
  };
}
