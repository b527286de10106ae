/**
 * The peer model writers without a browser: the ONNX file run by ONNX Runtime Web's wasm EP in Node against
 * our float64 CPU reference of the same network (src/reference/forward.ts), the TFLite file read back field by
 * field (schema.fbs slots) for what must be in it, the cache keys, and bad input. The browser test
 * (peer-writers.chrome.test.ts) runs both files in the runtimes `effnet bench` uses, against our engine.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { ByteBuffer } from 'flatbuffers';
import { customArch, getArch, scaledArch } from '../src/model/tables.js';
import { layerOps } from '../src/model/layers.js';
import { randomParams } from '../src/weights/random.js';
import { referenceForward } from '../src/reference/forward.js';
import { errorStats } from '../src/verify.js';
import { MODEL_TOLERANCE } from '../src/tolerance.js';
import { isEffnetError } from '../src/errors.js';
import type { ModelParams } from '../src/weights/params.js';
import { peerGraph } from '../src/cpu/graph.js';
import { readOnnx, writeOnnx } from '../src/cpu/onnx-writer.js';
import { TFLITE_OPS, writeTflite } from '../src/cpu/tflite-writer.js';
import { ensurePeerModel, peerModelKey } from '../src/cpu/model-files.js';

const b0 = getArch('efficientnet_b0');
const b0Params = randomParams(b0, 7);
const v2sSame = customArch(scaledArch('efficientnet_v2_s', { width: 0.25 }), { name: 'v2s_w025_same', padding: 'same' });
const v2sParams: ModelParams = { ...randomParams(v2sSame, 11), inputAffine: { scale: [1.25, 1, 0.8], shift: [-0.1, 0, 0.1] } };

function input(n: number, res: number): Float32Array {
  // Amplitude 0.3: random weights without trained BatchNorm statistics amplify larger inputs into logits in
  // the hundreds, where f32 rounding alone reaches 1e-4 relative and the comparison says little.
  return new Float32Array(n * 3 * res * res).map((_, i) => Math.sin(i * 0.37) * 0.3);
}

describe('ONNX writer: ONNX Runtime (wasm, Node) vs the float64 reference', () => {
  // Relative L2 within MODEL_TOLERANCE.relL2 (what `effnet verify` asks of our engine against PyTorch): f32
  // against float64 lands at ~3e-7 here; a wrong layout, weight or padding at ≥ 1e-2.
  test.each([
    ['B0 @64 ×2 (symmetric padding)', b0, b0Params, 64, 2],
    ['V2-S-shaped @72 ×1 (SAME padding, input affine)', v2sSame, v2sParams, 72, 1],
  ] as const)('%s', async (_, spec, params, res, n) => {
    const bytes = await writeOnnx(peerGraph(spec, params, res, n));
    const model = await readOnnx(bytes);
    expect(model.irVersion).toBe(7);
    expect(model.opsetImport.map((o) => o.version)).toEqual([13]);
    expect(model.graph.input.map((i) => i.type.tensorType.shape.dim.map((d) => d.dimValue))).toEqual([[n, 3, res, res]]);
    expect(model.graph.output.map((o) => [o.name, o.type.tensorType.shape.dim.map((d) => d.dimValue)])).toEqual([['logits', [n, spec.numClasses]]]);
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    try {
      const x = input(n, res);
      const out = await session.run({ input: new ort.Tensor('float32', x, [n, 3, res, res]) });
      const got = out.logits!.data as Float32Array;
      const want = referenceForward(params, spec, { data: x, shape: [n, 3, res, res], layout: 'NCHW' }).logits!.data;
      expect(got).toHaveLength(n * spec.numClasses);
      expect(errorStats(got, want).relL2).toBeLessThan(MODEL_TOLERANCE.relL2);
    } finally {
      await session.release();
    }
  });
});

/** Minimal flatbuffer reading: table fields by slot (vtable offset 4 + 2·slot), as generated code does. */
class Table {
  constructor(readonly bb: ByteBuffer, readonly pos: number) {}
  private at(slot: number): number {
    return this.bb.__offset(this.pos, 4 + 2 * slot);
  }
  int(slot: number, dflt = 0): number {
    const o = this.at(slot);
    return o ? this.bb.readInt32(this.pos + o) : dflt;
  }
  byte(slot: number, dflt = 0): number {
    const o = this.at(slot);
    return o ? this.bb.readInt8(this.pos + o) : dflt;
  }
  str(slot: number): string | null {
    const o = this.at(slot);
    return o ? (this.bb.__string(this.pos + o) as string) : null;
  }
  table(slot: number): Table | null {
    const o = this.at(slot);
    return o ? new Table(this.bb, this.bb.__indirect(this.pos + o)) : null;
  }
  tables(slot: number): Table[] {
    const o = this.at(slot);
    if (!o) return [];
    const start = this.bb.__vector(this.pos + o);
    return Array.from({ length: this.bb.__vector_len(this.pos + o) }, (_, i) => new Table(this.bb, this.bb.__indirect(start + 4 * i)));
  }
  ints(slot: number): number[] {
    const o = this.at(slot);
    if (!o) return [];
    const start = this.bb.__vector(this.pos + o);
    return Array.from({ length: this.bb.__vector_len(this.pos + o) }, (_, i) => this.bb.readInt32(start + 4 * i));
  }
  /** A [ubyte] vector: its start in the file and its length. */
  bytes(slot: number): { start: number; length: number } | null {
    const o = this.at(slot);
    return o ? { start: this.bb.__vector(this.pos + o), length: this.bb.__vector_len(this.pos + o) } : null;
  }
}

describe('TFLite writer: the flatbuffer read back', () => {
  test('B0 @64 ×2: header, signature, ops, PAD where symmetric ≠ SAME, OHWI filters, 16-byte aligned weights', async () => {
    const file = await writeTflite(peerGraph(b0, b0Params, 64, 2));
    const bb = new ByteBuffer(file);
    expect(bb.__has_identifier('TFL3')).toBe(true);
    const model = new Table(bb, bb.readInt32(bb.position()) + bb.position());
    expect(model.int(0)).toBe(3);
    const codes = model.tables(1).map((c) => c.int(3));
    const [sub] = model.tables(2);
    const tensors = sub!.tables(0);
    const shape = (i: number) => tensors[i]!.ints(0);
    expect(sub!.ints(1).map(shape)).toEqual([[2, 64, 64, 3]]);
    expect(sub!.ints(2).map(shape)).toEqual([[2, 1000]]);
    expect(sub!.ints(2).map((i) => tensors[i]!.str(3))).toEqual(['logits']);
    const [sig] = model.tables(7);
    expect(sig!.str(2)).toBe('serving_default');
    expect(sig!.tables(0).map((m) => [m.str(0), m.int(1)])).toEqual([['input', sub!.ints(1)[0]]]);

    const ops = sub!.tables(3);
    const count = (code: number) => ops.filter((o) => codes[o.int(0)] === code).length;
    const net = layerOps(b0, 64);
    const kinds = (k: string) => net.filter((o) => o.op.kind === k).length;
    expect(count(TFLITE_OPS.DEPTHWISE_CONV_2D)).toBe(kinds('dwconv'));
    // stem, every 1×1 conv (expand, project, head) and SE's two 1×1 convs.
    expect(count(TFLITE_OPS.CONV_2D)).toBe(1 + kinds('pwconv') + kinds('head') + 2 * kinds('se'));
    expect(count(TFLITE_OPS.MEAN)).toBe(kinds('se') + 1);
    expect(count(TFLITE_OPS.FULLY_CONNECTED)).toBe(1);
    expect(count(TFLITE_OPS.ADD)).toBe(net.filter((o) => o.res !== undefined).length);
    // At 64 px every stride-2 conv sees an even size, where symmetric k//2 and SAME differ: an explicit PAD each.
    const stride2 = net.filter((o) => 's' in o.op && o.op.s === 2).length;
    expect(stride2).toBe(5);
    expect(count(TFLITE_OPS.PAD)).toBe(stride2);
    // Conv options: padding (slot 0) VALID (1) after a PAD, SAME (0) elsewhere; stride_w (slot 1).
    const convs = ops.filter((o) => [TFLITE_OPS.CONV_2D, TFLITE_OPS.DEPTHWISE_CONV_2D].includes(codes[o.int(0)] as 3 | 4));
    const stem = convs[0]!;
    expect(stem.byte(3)).toBe(1);
    expect([stem.table(4)!.byte(0), stem.table(4)!.int(1)]).toEqual([1, 2]);
    expect(convs.filter((o) => o.table(4)!.byte(0) === 0)).toHaveLength(convs.length - stride2);

    // The stem's filter is OHWI: element (o, y, x, i) is torchvision's (o, i, y, x).
    const filterId = stem.ints(1)[1]!;
    expect(shape(filterId)).toEqual([32, 3, 3, 3]);
    const buffers = model.tables(4);
    const data = buffers[tensors[filterId]!.int(2)]!.bytes(0)!;
    const f32 = new Float32Array(file.slice(data.start, data.start + data.length).buffer);
    const w = b0Params.stem.weight;
    for (const [o, y, x, i] of [[0, 0, 0, 0], [5, 1, 2, 1], [31, 2, 1, 2]] as const) expect(f32[((o * 3 + y) * 3 + x) * 3 + i]).toBe(w[((o * 3 + i) * 3 + y) * 3 + x]);
    // Weight data 16-byte aligned from the start of the file (schema.fbs: force_align 16).
    for (const b of buffers) {
      const d = b.bytes(0);
      if (d) expect(d.start % 16).toBe(0);
    }
  });

  test('SAME padding: no PAD at all; the input affine is a MUL and an ADD before the stem', async () => {
    const file = await writeTflite(peerGraph(v2sSame, v2sParams, 72, 1));
    const bb = new ByteBuffer(file);
    const model = new Table(bb, bb.readInt32(bb.position()) + bb.position());
    const codes = model.tables(1).map((c) => c.int(3));
    const ops = model.tables(2)[0]!.tables(3).map((o) => codes[o.int(0)]);
    expect(ops).not.toContain(TFLITE_OPS.PAD);
    expect(ops.slice(0, 3)).toEqual([TFLITE_OPS.MUL, TFLITE_OPS.ADD, TFLITE_OPS.CONV_2D]);
  });
});

describe('peer model cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'effnet-peer-cache-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('keyed by weights, arch, res and batch; a cached file is not written again', async () => {
    const spec = customArch('efficientnet_b0', { name: 'tiny', stages: [{ block: 'mbconv', expand: 1, kernel: 3, stride: 1, outC: 8, repeats: 1, se: 0.25 }], headC: 16, numClasses: 10 });
    const params = randomParams(spec, 1);
    const a = await ensurePeerModel('tflite', spec, params, 32, 1, { dir });
    const mtime = statSync(a).mtimeMs;
    expect(await ensurePeerModel('tflite', spec, params, 32, 1, { dir })).toBe(a);
    expect(statSync(a).mtimeMs).toBe(mtime);
    const other = [
      await ensurePeerModel('tflite', spec, params, 32, 2, { dir }),
      await ensurePeerModel('tflite', spec, params, 40, 1, { dir }),
      await ensurePeerModel('onnx', spec, params, 32, 1, { dir }),
      await ensurePeerModel('tflite', spec, randomParams(spec, 2), 32, 1, { dir }),
    ];
    expect(new Set([a, ...other]).size).toBe(5);
    expect(a).toMatch(/tiny-32-b1-[0-9a-f]{16}\.tflite$/);
    // The key follows the weights' values, not the object holding them.
    expect(await peerModelKey('onnx', spec, randomParams(spec, 1), 32, 1)).toBe(await peerModelKey('onnx', spec, params, 32, 1));
  });
});

describe('bad input: a clear EffnetError', () => {
  const expectCode = (fn: () => unknown, code: string, text: string) => {
    try {
      fn();
    } catch (e) {
      expect(isEffnetError(e), String(e)).toBe(true);
      expect((e as { code: string }).code).toBe(code);
      expect((e as Error).message).toContain(text);
      return;
    }
    throw new Error('expected an EffnetError');
  };
  test('resolution, batch, missing and mis-shaped parameters', () => {
    expectCode(() => peerGraph(b0, b0Params, 4, 1), 'INPUT', 'resolution must be an integer ≥ 8, got 4');
    expectCode(() => peerGraph(b0, b0Params, 64, 0), 'INPUT', 'batch must be a positive integer, got 0');
    const noHead = { ...b0Params, head: undefined } as unknown as ModelParams;
    expectCode(() => peerGraph(b0, noHead, 64, 1), 'WEIGHTS', 'the parameters lack head');
    const blocks = b0Params.blocks.map((b, i) => (i === 3 ? { ...b, dw: { ...b.dw!, shape: [1, 1, 3, 3] as [number, number, number, number] } } : b));
    expectCode(() => peerGraph(b0, { ...b0Params, blocks }, 64, 1), 'WEIGHTS', 'features.3.0.dw has shape [1, 1, 3, 3], the network needs [144, 1, 5, 5]');
    expectCode(() => peerGraph(b0, { ...b0Params, inputAffine: { scale: [1], shift: [0, 0, 0] } }, 64, 1), 'WEIGHTS', 'inputAffine needs 3 scales');
  });
});
