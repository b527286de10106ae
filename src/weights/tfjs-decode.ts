/**
 * TF.js weight data → tensors: every manifest entry in order, concatenated across groups and shards (tfjs
 * io.decodeWeights), float ones dequantised (float16, or affine uint8/uint16) to Float32Array.
 */
import { f16BitsToF32 } from '../safetensors.js';
import { tfjsFail as fail, type TfjsGraphModel, type TfjsWeightSpec } from './tfjs-manifest.js';

/** One decoded weight: its manifest entry, and its values when they are float or int32 (what a parameter can be). */
export interface TfjsWeight {
  spec: TfjsWeightSpec;
  values: Float32Array | Int32Array | undefined;
}

const STORED_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

/** Total shard bytes the manifest describes; undefined when it has string weights (variable length). */
export function tfjsWeightBytes(model: TfjsGraphModel): number | undefined {
  let total = 0;
  for (const group of model.weightsManifest) {
    for (const spec of group.weights) {
      const per = STORED_BYTES[spec.quantization ? spec.quantization.dtype : spec.dtype];
      if (per === undefined) return undefined;
      total += spec.shape.reduce((a, b) => a * b, 1) * per;
    }
  }
  return total;
}

/** Decodes every weight; float ones (dequantised if quantised) as Float32Array, int32 as Int32Array, others skipped. */
export function decodeTfjsWeights(model: TfjsGraphModel, weightData: ArrayBuffer, source = '<tfjs>'): Map<string, TfjsWeight> {
  const out = new Map<string, TfjsWeight>();
  const bytes = new Uint8Array(weightData);
  let offset = 0;
  for (const group of model.weightsManifest) {
    for (const spec of group.weights) {
      const numel = spec.shape.reduce((a, b) => a * b, 1);
      const q = spec.quantization;
      let size: number;
      if (spec.dtype === 'string') {
        // Strings are stored as (u32 byte length, bytes) per element; skip them.
        size = 0;
        for (let i = 0; i < numel; i++) {
          if (offset + size + 4 > bytes.length) break;
          size += 4 + new DataView(weightData, offset + size, 4).getUint32(0, true);
        }
      } else {
        const per = STORED_BYTES[q ? q.dtype : spec.dtype];
        if (per === undefined) fail(source, `weight '${spec.name}': unsupported ${q ? 'quantization ' : ''}dtype '${q ? q.dtype : spec.dtype}'`);
        size = numel * per!;
      }
      if (offset + size > bytes.length) {
        fail(source, `weight '${spec.name}' needs bytes ${offset}..${offset + size} but the shards hold ${bytes.length} bytes (missing or truncated shard?)`);
      }
      const chunk = bytes.slice(offset, offset + size); // copy: aligned, and independent of the shard buffer
      out.set(spec.name, { spec, values: decodeOne(spec, chunk, numel, source) });
      offset += size;
    }
  }
  if (offset !== bytes.length) fail(source, `the manifest describes ${offset} bytes of weights but the shards hold ${bytes.length}`);
  return out;
}

function decodeOne(spec: TfjsWeightSpec, chunk: Uint8Array, numel: number, source: string): Float32Array | Int32Array | undefined {
  const q = spec.quantization;
  if (!q) {
    if (spec.dtype === 'float32') return new Float32Array(chunk.buffer, 0, numel);
    if (spec.dtype === 'int32') return new Int32Array(chunk.buffer, 0, numel);
    return undefined; // bool/string/complex: never a parameter of this network
  }
  if (spec.dtype !== 'float32') fail(source, `weight '${spec.name}': quantised ${spec.dtype} weights are not supported (only float32)`);
  if (q.dtype === 'float16') {
    const bits = new Uint16Array(chunk.buffer, 0, numel), v = new Float32Array(numel);
    for (let i = 0; i < numel; i++) v[i] = f16BitsToF32(bits[i]!);
    return v;
  }
  // Affine quantisation: value = q·scale + min (tfjs io_utils).
  if (typeof q.scale !== 'number' || typeof q.min !== 'number') {
    fail(source, `weight '${spec.name}': ${q.dtype} quantization needs numeric 'scale' and 'min'`);
  }
  const raw = q.dtype === 'uint8' ? chunk : new Uint16Array(chunk.buffer, 0, numel);
  const v = new Float32Array(numel);
  for (let i = 0; i < numel; i++) v[i] = raw[i]! * q.scale! + q.min!;
  return v;
}
