/**
 * An ONNX model (opset 13) of any EfficientNet our engine loads, written from our own canonical weights, for
 * the CPU backend in Node (onnxruntime-node) and ONNX Runtime Web (`effnet bench --peers ort-wasm,ort-webgpu`): any
 * variant, resolution and batch without PyTorch. The messages are encoded with `protobufjs` from the descriptor below, which restates the parts of
 * onnx.proto (github.com/onnx/onnx, onnx/onnx.proto) these models use, with onnx.proto's field numbers.
 *
 * The file takes ONE static shape: input `input` [batch, 3, res, res] float32, NCHW (torchvision's layout,
 * what the ORT rows of `effnet bench` are fed), output `logits` [batch, classes]. Convs carry their padding
 * as `pads` [top, left, bottom, right], so torchvision's symmetric and TensorFlow's SAME padding are both
 * exact without a Pad node; SiLU is Sigmoid + Mul; the pools are GlobalAveragePool; the classifier is
 * Flatten + Gemm (transB, torch Linear's [out, in] weights as they are).
 */
import type { GNode, GTensor, PeerGraph } from './graph.js';

/** onnx.proto's IR version for opset 13 (ONNX 1.8). */
const IR_VERSION = 7;
const OPSET = 13;
/** TensorProto.DataType */
const FLOAT = 1;
/** AttributeProto.AttributeType */
const ATTR = { INT: 2, INTS: 7 } as const;

/** The messages of onnx.proto that a float CNN needs, with onnx.proto's field numbers. */
const ONNX_PROTO = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { id: 1, type: 'int64' },
            producerName: { id: 2, type: 'string' },
            producerVersion: { id: 3, type: 'string' },
            domain: { id: 4, type: 'string' },
            modelVersion: { id: 5, type: 'int64' },
            docString: { id: 6, type: 'string' },
            graph: { id: 7, type: 'GraphProto' },
            opsetImport: { id: 8, type: 'OperatorSetIdProto', rule: 'repeated' },
          },
        },
        OperatorSetIdProto: { fields: { domain: { id: 1, type: 'string' }, version: { id: 2, type: 'int64' } } },
        GraphProto: {
          fields: {
            node: { id: 1, type: 'NodeProto', rule: 'repeated' },
            name: { id: 2, type: 'string' },
            initializer: { id: 5, type: 'TensorProto', rule: 'repeated' },
            docString: { id: 10, type: 'string' },
            input: { id: 11, type: 'ValueInfoProto', rule: 'repeated' },
            output: { id: 12, type: 'ValueInfoProto', rule: 'repeated' },
          },
        },
        NodeProto: {
          fields: {
            input: { id: 1, type: 'string', rule: 'repeated' },
            output: { id: 2, type: 'string', rule: 'repeated' },
            name: { id: 3, type: 'string' },
            opType: { id: 4, type: 'string' },
            attribute: { id: 5, type: 'AttributeProto', rule: 'repeated' },
            domain: { id: 7, type: 'string' },
          },
        },
        AttributeProto: {
          fields: {
            name: { id: 1, type: 'string' },
            f: { id: 2, type: 'float' },
            i: { id: 3, type: 'int64' },
            ints: { id: 8, type: 'int64', rule: 'repeated' },
            type: { id: 20, type: 'int32' },
          },
        },
        TensorProto: {
          fields: {
            dims: { id: 1, type: 'int64', rule: 'repeated' },
            dataType: { id: 2, type: 'int32' },
            name: { id: 8, type: 'string' },
            rawData: { id: 9, type: 'bytes' },
          },
        },
        ValueInfoProto: { fields: { name: { id: 1, type: 'string' }, type: { id: 2, type: 'TypeProto' } } },
        TypeProto: { fields: { tensorType: { id: 1, type: 'TypeProtoTensor' } } },
        TypeProtoTensor: { fields: { elemType: { id: 1, type: 'int32' }, shape: { id: 2, type: 'TensorShapeProto' } } },
        TensorShapeProto: { fields: { dim: { id: 1, type: 'Dimension', rule: 'repeated' } } },
        Dimension: { fields: { dimValue: { id: 1, type: 'int64' }, dimParam: { id: 2, type: 'string' } } },
      },
    },
  },
};

interface Attr {
  name: string;
  type: number;
  i?: number;
  ints?: number[];
}
interface Node {
  opType: string;
  name: string;
  input: string[];
  output: string[];
  attribute: Attr[];
}
interface Initializer {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
}

const bytesOf = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const ints = (name: string, v: number[]): Attr => ({ name, type: ATTR.INTS, ints: v });
const int = (name: string, v: number): Attr => ({ name, type: ATTR.INT, i: v });

/**
 * The `.onnx` bytes of `g`. Async because `protobufjs` is loaded on first use (only the Node CPU backend and the
 * bench write ONNX; the browser build leaves it out).
 */
export async function writeOnnx(g: PeerGraph): Promise<Uint8Array> {
  const protobuf = ((await import('protobufjs')) as unknown as { default: typeof import('protobufjs') }).default;
  const N = g.batch;
  const nodes: Node[] = [];
  const inits: Initializer[] = [];
  const nchw = (t: GTensor) => (t.flat ? [N, t.C] : [N, t.C, t.H, t.W]);
  const constant = (name: string, dims: number[], data: Float32Array) => {
    inits.push({ name, dims, dataType: FLOAT, rawData: bytesOf(data) });
    return name;
  };
  const node = (opType: string, name: string, input: string[], output: string[], attribute: Attr[] = []) => nodes.push({ opType, name, input, output, attribute });

  for (const n of g.nodes) emit(n);

  function emit(n: GNode): void {
    switch (n.op) {
      case 'affine': {
        const scaled = `${n.y.name}.scale`;
        node('Mul', scaled, [n.x.name, constant(`${n.y.name}/scale`, [1, 3, 1, 1], Float32Array.from(n.scale))], [scaled]);
        node('Add', n.y.name, [scaled, constant(`${n.y.name}/shift`, [1, 3, 1, 1], Float32Array.from(n.shift))], [n.y.name]);
        return;
      }
      case 'conv': {
        const { x, y, k, stride, depthwise, pads } = n;
        const w = constant(`${y.name}/weight`, [y.C, depthwise ? 1 : x.C, k, k], n.weight);
        const b = constant(`${y.name}/bias`, [y.C], n.bias);
        node('Conv', y.name, [x.name, w, b], [y.name], [
          ints('kernel_shape', [k, k]),
          ints('strides', [stride, stride]),
          ints('pads', [pads.top, pads.left, pads.bottom, pads.right]),
          ints('dilations', [1, 1]),
          int('group', depthwise ? y.C : 1),
        ]);
        return;
      }
      case 'sigmoid':
        node('Sigmoid', n.y.name, [n.x.name], [n.y.name]);
        return;
      case 'mul':
        node('Mul', n.y.name, [n.a.name, n.b.name], [n.y.name]);
        return;
      case 'add':
        node('Add', n.y.name, [n.a.name, n.b.name], [n.y.name]);
        return;
      case 'mean':
        if (n.y.flat) {
          const pooled = `${n.y.name}.4d`;
          node('GlobalAveragePool', pooled, [n.x.name], [pooled]);
          node('Flatten', n.y.name, [pooled], [n.y.name], [int('axis', 1)]);
        } else {
          node('GlobalAveragePool', n.y.name, [n.x.name], [n.y.name]);
        }
        return;
      case 'fc': {
        const w = constant(`${n.y.name}/weight`, [n.y.C, n.x.C], n.weight);
        const b = constant(`${n.y.name}/bias`, [n.y.C], n.bias);
        node('Gemm', n.y.name, [n.x.name, w, b], [n.y.name], [int('transB', 1)]);
        return;
      }
    }
  }

  const valueInfo = (t: GTensor) => ({
    name: t.name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: nchw(t).map((d) => ({ dimValue: d })) } } },
  });
  const root = protobuf.Root.fromJSON(ONNX_PROTO);
  const Model = root.lookupType('onnx.ModelProto');
  const message = Model.fromObject({
    irVersion: IR_VERSION,
    producerName: 'effnet-webgpu',
    producerVersion: '1',
    docString: `${g.spec.name} at ${g.res}×${g.res}, batch ${N}, written from effnet-webgpu's canonical (BatchNorm-folded) weights`,
    opsetImport: [{ domain: '', version: OPSET }],
    graph: {
      name: g.spec.name,
      node: nodes,
      initializer: inits,
      input: [valueInfo(g.input)],
      output: [valueInfo(g.output)],
    },
  });
  return Model.encode(message).finish();
}

/** For tests: decode `bytes` with the same descriptor (field numbers as onnx.proto). */
export async function readOnnx(bytes: Uint8Array): Promise<{
  irVersion: number;
  opsetImport: { version: number }[];
  graph: { node: Node[]; initializer: Initializer[]; input: { name: string; type: { tensorType: { shape: { dim: { dimValue: number }[] } } } }[]; output: { name: string; type: { tensorType: { shape: { dim: { dimValue: number }[] } } } }[] };
}> {
  const protobuf = ((await import('protobufjs')) as unknown as { default: typeof import('protobufjs') }).default;
  const Model = protobuf.Root.fromJSON(ONNX_PROTO).lookupType('onnx.ModelProto');
  return Model.toObject(Model.decode(bytes), { longs: Number, defaults: false }) as never;
}
