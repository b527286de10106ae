/**
 * A `.tflite` flatbuffer of any EfficientNet our engine loads, written from our own canonical weights, for
 * LiteRT.js: the CPU backend in browsers and `effnet bench --peers litert-wasm,litert-webgpu`. No TFLite EfficientNet ships in any package
 * we can install, and converting one needs TensorFlow; the format is a flatbuffer whose schema is public.
 *
 * The tables below are written with the `flatbuffers` package's Builder, field by field, in the field order
 * (= vtable slot) of TensorFlow Lite's schema.fbs (tensorflow/lite/schema/schema.fbs; the slot numbers are
 * noted next to each field). Only what these models use is written:
 *
 *   Model      0 version, 1 operator_codes, 2 subgraphs, 3 description, 4 buffers, 7 signature_defs
 *   SubGraph   0 tensors, 1 inputs, 2 outputs, 3 operators, 4 name
 *   Tensor     0 shape, 1 type, 2 buffer, 3 name
 *   Operator   0 opcode_index, 1 inputs, 2 outputs, 3 builtin_options_type, 4 builtin_options
 *   OperatorCode 0 deprecated_builtin_code (byte), 2 version, 3 builtin_code (int)
 *   Buffer     0 data (16-byte aligned)
 *   SignatureDef 0 inputs, 1 outputs, 2 signature_key, 4 subgraph_index;  TensorMap 0 name, 1 tensor_index
 *
 * The file takes ONE static shape: input `input` [batch, res, res, 3] float32, NHWC (TFLite's layout), in
 * the weights' own input space (torchvision weights: ImageNet-normalised RGB; TF-Hub weights: [0, 1] RGB,
 * their input affine written as MUL + ADD); output `logits` [batch, classes]. Weights are laid out as TFLite
 * wants them: CONV_2D filters OHWI, DEPTHWISE_CONV_2D filters [1, kh, kw, C], FULLY_CONNECTED [out, in].
 * SiLU is LOGISTIC + MUL (TFLite has no fused SiLU activation). Where torchvision's symmetric k//2 padding
 * differs from TFLite's SAME (stride 2 on an even size: SAME puts the odd pixel at the bottom/right only)
 * the conv is an explicit PAD followed by a VALID conv.
 */
import type { Builder } from 'flatbuffers';
import type { GNode, GTensor, PeerGraph } from './graph.js';

/** BuiltinOperator values (schema.fbs). */
const OP = { ADD: 0, CONV_2D: 3, DEPTHWISE_CONV_2D: 4, FULLY_CONNECTED: 9, LOGISTIC: 14, MUL: 18, PAD: 34, MEAN: 40 } as const;
/** BuiltinOptions union tags (schema.fbs: 1-based position in the union). */
const OPTIONS = { NONE: 0, Conv2DOptions: 1, DepthwiseConv2DOptions: 2, FullyConnectedOptions: 8, AddOptions: 11, MulOptions: 21, PadOptions: 22, ReducerOptions: 27 } as const;
const TENSOR_FLOAT32 = 0;
const TENSOR_INT32 = 2;
const PADDING_SAME = 0;
const PADDING_VALID = 1;
/** TFLite's schema version the file follows (version 3 moved buffer data into Model.buffers). */
const SCHEMA_VERSION = 3;

interface TensorDef {
  shape: number[];
  type: number;
  /** Index into Model.buffers; 0 is the empty sentinel for activations. */
  buffer: number;
  name: string;
}

interface OperatorDef {
  code: number;
  inputs: number[];
  outputs: number[];
  /** Writes the options table (returns its offset) and names its union tag. */
  options?: { tag: number; write: (b: Builder) => number };
}

const bytesOf = (a: Float32Array | Int32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** OIHW → OHWI (CONV_2D's filter layout). */
function ohwi(w: Float32Array, O: number, I: number, k: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < O; o++)
    for (let i = 0; i < I; i++)
      for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) out[((o * k + y) * k + x) * I + i] = w[((o * I + i) * k + y) * k + x]!;
  return out;
}

/** [C, 1, k, k] → [1, k, k, C] (DEPTHWISE_CONV_2D's filter layout, depth multiplier 1). */
function depthwiseLayout(w: Float32Array, C: number, k: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let c = 0; c < C; c++) for (let yx = 0; yx < k * k; yx++) out[yx * C + c] = w[c * k * k + yx]!;
  return out;
}

/**
 * The `.tflite` bytes of `g`. Async because `flatbuffers` is loaded on first use: it is a development
 * dependency (the peers run only from a checkout), and the CLI bundle must start without it.
 */
export async function writeTflite(g: PeerGraph): Promise<Uint8Array> {
  const { Builder } = await import('flatbuffers');
  const N = g.batch;
  const tensors: TensorDef[] = [];
  const buffers: Uint8Array[] = [new Uint8Array(0)];
  const operators: OperatorDef[] = [];
  const ids = new Map<string, number>();

  const nhwc = (t: GTensor) => (t.flat ? [N, t.C] : [N, t.H, t.W, t.C]);
  const activation = (t: GTensor): number => {
    let id = ids.get(t.name);
    if (id === undefined) {
      id = tensors.push({ shape: nhwc(t), type: TENSOR_FLOAT32, buffer: 0, name: t.name }) - 1;
      ids.set(t.name, id);
    }
    return id;
  };
  const constant = (name: string, shape: number[], data: Float32Array | Int32Array): number => {
    const buffer = buffers.push(bytesOf(data)) - 1;
    return tensors.push({ shape, type: data instanceof Int32Array ? TENSOR_INT32 : TENSOR_FLOAT32, buffer, name }) - 1;
  };
  const noAct = (tag: number) => ({ tag, write: (b: Builder) => (b.startObject(1), b.addFieldInt8(0, 0, 0), b.endObject()) });

  for (const node of g.nodes) emit(node);

  function emit(node: GNode): void {
    switch (node.op) {
      case 'affine': {
        // Channels are the innermost axis, so a [3] constant broadcasts per channel.
        const scaled = activation({ ...node.y, name: `${node.y.name}.scale` });
        operators.push({ code: OP.MUL, inputs: [activation(node.x), constant(`${node.y.name}/scale`, [3], Float32Array.from(node.scale))], outputs: [scaled], options: noAct(OPTIONS.MulOptions) });
        operators.push({ code: OP.ADD, inputs: [scaled, constant(`${node.y.name}/shift`, [3], Float32Array.from(node.shift))], outputs: [activation(node.y)], options: noAct(OPTIONS.AddOptions) });
        return;
      }
      case 'conv': {
        const { x, y, k, stride, depthwise, pads } = node;
        let input = activation(x);
        if (!node.tfSame && (pads.top || pads.bottom || pads.left || pads.right)) {
          const padded: GTensor = { name: `${y.name}.pad`, C: x.C, H: x.H + pads.top + pads.bottom, W: x.W + pads.left + pads.right };
          const paddings = constant(`${y.name}/paddings`, [4, 2], Int32Array.from([0, 0, pads.top, pads.bottom, pads.left, pads.right, 0, 0]));
          operators.push({ code: OP.PAD, inputs: [input, paddings], outputs: [activation(padded)], options: { tag: OPTIONS.PadOptions, write: (b) => (b.startObject(0), b.endObject()) } });
          input = activation(padded);
        }
        const padding = node.tfSame ? PADDING_SAME : PADDING_VALID;
        const filter = depthwise
          ? constant(`${y.name}/filter`, [1, k, k, y.C], depthwiseLayout(node.weight, y.C, k))
          : constant(`${y.name}/filter`, [y.C, k, k, x.C], ohwi(node.weight, y.C, x.C, k));
        const bias = constant(`${y.name}/bias`, [y.C], node.bias);
        const write = (b: Builder) => {
          // Conv2DOptions: 0 padding, 1 stride_w, 2 stride_h, 3 fused_activation_function, 4/5 dilation w/h.
          // DepthwiseConv2DOptions: 0 padding, 1 stride_w, 2 stride_h, 3 depth_multiplier, 4 activation, 5/6 dilation.
          b.startObject(depthwise ? 7 : 6);
          b.addFieldInt8(0, padding, -1);
          b.addFieldInt32(1, stride, -1);
          b.addFieldInt32(2, stride, -1);
          if (depthwise) b.addFieldInt32(3, 1, -1);
          b.addFieldInt8(depthwise ? 4 : 3, 0, -1);
          b.addFieldInt32(depthwise ? 5 : 4, 1, -1);
          b.addFieldInt32(depthwise ? 6 : 5, 1, -1);
          return b.endObject();
        };
        operators.push({
          code: depthwise ? OP.DEPTHWISE_CONV_2D : OP.CONV_2D, inputs: [input, filter, bias], outputs: [activation(y)],
          options: { tag: depthwise ? OPTIONS.DepthwiseConv2DOptions : OPTIONS.Conv2DOptions, write },
        });
        return;
      }
      case 'sigmoid':
        operators.push({ code: OP.LOGISTIC, inputs: [activation(node.x)], outputs: [activation(node.y)] });
        return;
      case 'mul':
        operators.push({ code: OP.MUL, inputs: [activation(node.a), activation(node.b)], outputs: [activation(node.y)], options: noAct(OPTIONS.MulOptions) });
        return;
      case 'add':
        operators.push({ code: OP.ADD, inputs: [activation(node.a), activation(node.b)], outputs: [activation(node.y)], options: noAct(OPTIONS.AddOptions) });
        return;
      case 'mean': {
        const axes = constant(`${node.y.name}/axes`, [2], Int32Array.from([1, 2]));
        const keep = node.y.flat ? 0 : 1;
        // ReducerOptions: 0 keep_dims.
        operators.push({ code: OP.MEAN, inputs: [activation(node.x), axes], outputs: [activation(node.y)], options: { tag: OPTIONS.ReducerOptions, write: (b) => (b.startObject(1), b.addFieldInt8(0, keep, -1), b.endObject()) } });
        return;
      }
      case 'fc': {
        const w = constant(`${node.y.name}/weights`, [node.y.C, node.x.C], node.weight);
        const bias = constant(`${node.y.name}/bias`, [node.y.C], node.bias);
        // FullyConnectedOptions: 0 fused_activation_function, 1 weights_format (DEFAULT), 2 keep_num_dims (false).
        operators.push({ code: OP.FULLY_CONNECTED, inputs: [activation(node.x), w, bias], outputs: [activation(node.y)], options: noAct(OPTIONS.FullyConnectedOptions) });
        return;
      }
    }
  }

  const inputId = activation(g.input);
  const outputId = activation(g.output);
  return serialize(new Builder(builderSize(buffers, tensors, operators)), tensors, buffers, operators, inputId, outputId, `effnet-webgpu ${g.spec.name} @${g.res} ×${g.batch}`);
}

/** Room for everything up front, so the builder never grows (each growth copies the whole buffer). */
const builderSize = (buffers: Uint8Array[], tensors: TensorDef[], operators: OperatorDef[]) =>
  buffers.reduce((a, d) => a + d.byteLength + 32, 0) + tensors.length * 160 + operators.length * 96 + (1 << 16);

function serialize(b: Builder, tensors: TensorDef[], buffers: Uint8Array[], operators: OperatorDef[], inputId: number, outputId: number, description: string): Uint8Array {
  const intVector = (values: number[]) => {
    b.startVector(4, values.length, 4);
    for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]!);
    return b.endVector();
  };
  const offsetVector = (offsets: number[]) => {
    b.startVector(4, offsets.length, 4);
    for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
    return b.endVector();
  };

  // Buffers first, largest part of the file: data vectors 16-byte aligned (schema: force_align 16), which the
  // runtimes rely on to use weights in place. prep(16, n) aligns the end of the n data bytes to 16.
  const bufferTables = buffers.map((data) => {
    let vec = 0;
    if (data.byteLength) {
      b.prep(16, data.byteLength);
      vec = b.createByteVector(data);
    }
    b.startObject(1);
    if (vec) b.addFieldOffset(0, vec, 0);
    return b.endObject();
  });

  // Operator codes: one per distinct builtin, in first-use order.
  const codes: number[] = [];
  const codeIndex = (code: number) => {
    let i = codes.indexOf(code);
    if (i < 0) i = codes.push(code) - 1;
    return i;
  };
  const opTables = operators.map((op) => {
    const inputs = intVector(op.inputs);
    const outputs = intVector(op.outputs);
    const options = op.options ? op.options.write(b) : 0;
    const index = codeIndex(op.code);
    b.startObject(5);
    b.addFieldInt32(0, index, 0);
    b.addFieldOffset(1, inputs, 0);
    b.addFieldOffset(2, outputs, 0);
    if (op.options) {
      b.addFieldInt8(3, op.options.tag, 0);
      b.addFieldOffset(4, options, 0);
    }
    return b.endObject();
  });
  const codeTables = codes.map((code) => {
    b.startObject(4);
    b.addFieldInt8(0, code, -1);
    b.addFieldInt32(2, 1, -1);
    b.addFieldInt32(3, code, -1);
    return b.endObject();
  });

  const tensorTables = tensors.map((t) => {
    const shape = intVector(t.shape);
    const name = b.createString(t.name);
    b.startObject(4);
    b.addFieldOffset(0, shape, 0);
    b.addFieldInt8(1, t.type, -1);
    b.addFieldInt32(2, t.buffer, -1);
    b.addFieldOffset(3, name, 0);
    return b.endObject();
  });

  const subgraphName = b.createString('main');
  const tensorsVec = offsetVector(tensorTables);
  const inputsVec = intVector([inputId]);
  const outputsVec = intVector([outputId]);
  const operatorsVec = offsetVector(opTables);
  b.startObject(5);
  b.addFieldOffset(0, tensorsVec, 0);
  b.addFieldOffset(1, inputsVec, 0);
  b.addFieldOffset(2, outputsVec, 0);
  b.addFieldOffset(3, operatorsVec, 0);
  b.addFieldOffset(4, subgraphName, 0);
  const subgraph = b.endObject();

  // One signature, so runtimes that address models by signature (LiteRT's CompiledModel) name the tensors.
  const tensorMap = (name: string, index: number) => {
    const n = b.createString(name);
    b.startObject(2);
    b.addFieldOffset(0, n, 0);
    b.addFieldInt32(1, index, -1);
    return b.endObject();
  };
  const sigInputs = offsetVector([tensorMap('input', inputId)]);
  const sigOutputs = offsetVector([tensorMap('logits', outputId)]);
  const sigKey = b.createString('serving_default');
  b.startObject(5);
  b.addFieldOffset(0, sigInputs, 0);
  b.addFieldOffset(1, sigOutputs, 0);
  b.addFieldOffset(2, sigKey, 0);
  b.addFieldInt32(4, 0, -1);
  const signature = b.endObject();

  const codesVec = offsetVector(codeTables);
  const subgraphsVec = offsetVector([subgraph]);
  const desc = b.createString(description);
  const buffersVec = offsetVector(bufferTables);
  const signaturesVec = offsetVector([signature]);
  b.startObject(8);
  b.addFieldInt32(0, SCHEMA_VERSION, 0);
  b.addFieldOffset(1, codesVec, 0);
  b.addFieldOffset(2, subgraphsVec, 0);
  b.addFieldOffset(3, desc, 0);
  b.addFieldOffset(4, buffersVec, 0);
  b.addFieldOffset(7, signaturesVec, 0);
  const model = b.endObject();
  b.finish(model, 'TFL3');
  return b.asUint8Array();
}

/** BuiltinOperator codes this writer uses, for the structure test. */
export const TFLITE_OPS = OP;
