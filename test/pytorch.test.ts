import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EffnetError } from '../src/errors.js';
import { getArch } from '../src/model/tables.js';
import { parseSafetensors, type SafetensorsFile } from '../src/safetensors.js';
import { resolveWeights } from '../src/weights/load.js';
import { parsePytorchCheckpoint } from '../src/weights/pytorch.js';

const FIXTURES = fileURLToPath(new URL('../../shared/fixtures/', import.meta.url));
const read = (name: string) => new Uint8Array(readFileSync(FIXTURES + name));

// ---- a tiny torch.save writer: STORED zip records and a protocol-2 pickle, byte by byte --------------------------

/** `zip64` writes every size and offset as zip64 fields, as torch's writer does for archives past 4 GiB. */
function storedZip(records: [string, Uint8Array][], { zip64 = false } = {}): Uint8Array {
  const enc = new TextEncoder(), parts: Uint8Array[] = [], central: number[][] = [];
  const u16 = (v: number) => [v & 0xff, (v >>> 8) & 0xff];
  const u32 = (v: number) => [...u16(v & 0xffff), ...u16(v >>> 16)];
  const u64 = (v: number) => [...u32(v), ...u32(Math.floor(v / 2 ** 32))];
  const big = (v: number) => (zip64 ? 0xffffffff : v);
  let offset = 0;
  for (const [name, data] of records) {
    const n = [...enc.encode(name)];
    const extra = zip64 ? [...u16(1), ...u16(24), ...u64(data.length), ...u64(data.length), ...u64(offset)] : [];
    // method 0, CRC left 0 (the reader takes the central directory's sizes and does not check CRCs)
    const local = new Uint8Array([...u32(0x04034b50), ...u16(20), ...u16(0), ...u16(0), ...u32(0), ...u32(0), ...u32(data.length), ...u32(data.length),
      ...u16(n.length), ...u16(0), ...n]);
    central.push([...u32(0x02014b50), ...u16(45), ...u16(45), ...u16(0), ...u16(0), ...u32(0), ...u32(0), ...u32(big(data.length)),
      ...u32(big(data.length)), ...u16(n.length), ...u16(extra.length), ...u16(0), ...u16(0), ...u16(0), ...u32(0), ...u32(big(offset)), ...n, ...extra]);
    parts.push(local, data);
    offset += local.length + data.length;
  }
  const cd = central.flat(), count = records.length;
  const zip64End = zip64
    ? [...u32(0x06064b50), ...u64(44), ...u16(45), ...u16(45), ...u32(0), ...u32(0), ...u64(count), ...u64(count), ...u64(cd.length), ...u64(offset),
      ...u32(0x07064b50), ...u32(0), ...u64(offset + cd.length), ...u32(1)]
    : [];
  const end = [...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(zip64 ? 0xffff : count), ...u16(zip64 ? 0xffff : count),
    ...u32(big(cd.length)), ...u32(big(offset)), ...u16(0)];
  parts.push(new Uint8Array([...cd, ...zip64End, ...end]));
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

const pk = {
  str: (s: string) => { const b = new TextEncoder().encode(s); return [0x58, b.length, 0, 0, 0, ...b]; },
  int: (v: number) => [0x4a, v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff],
  global: (module: string, name: string) => [0x63, ...new TextEncoder().encode(`${module}\n${name}\n`)],
  tuple: (...items: number[][]) => [0x28, ...items.flat(), 0x74],
  dict: (entries: [string, number[]][]) => [0x7d, 0x28, ...entries.flatMap(([k, v]) => [...pk.str(k), ...v]), 0x75],
  orderedDict: () => [...pk.global('collections', 'OrderedDict'), 0x29, 0x52],
  /** _rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict()) */
  tensor: (t: { type?: string; key: string; numel: number; offset?: number; shape: number[]; stride?: number[] }) => {
    const stride = t.stride ?? t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    return [
      ...pk.global('torch._utils', '_rebuild_tensor_v2'),
      ...pk.tuple(
        [...pk.tuple(pk.str('storage'), pk.global('torch', t.type ?? 'FloatStorage'), pk.str(t.key), pk.str('cpu'), pk.int(t.numel)), 0x51],
        pk.int(t.offset ?? 0), pk.tuple(...t.shape.map(pk.int)), pk.tuple(...stride.map(pk.int)), [0x89], pk.orderedDict(),
      ),
      0x52,
    ];
  },
  pickle: (body: number[]) => new Uint8Array([0x80, 0x02, ...body, 0x2e]),
};

function checkpoint(pickle: Uint8Array, storages: Record<string, Uint8Array> = {}, zip?: { zip64: boolean }): Uint8Array {
  return storedZip([
    ['archive/data.pkl', pickle],
    ...Object.entries(storages).map(([key, data]): [string, Uint8Array] => [`archive/data/${key}`, data]),
    ['archive/version', new TextEncoder().encode('3\n')],
  ], zip);
}

const f32Bytes = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);

/**
 * The torchvision B0 fixture as a checkpoint (one storage per tensor), with `extra` entries and storages besides.
 * Returns the safetensors bytes it came from too.
 */
function b0Checkpoint(extra: [string, number[]][] = [], extraStorages: Record<string, Uint8Array> = {}): { pth: Uint8Array; st: Uint8Array } {
  const st = read('efficientnet_b0.weights.safetensors');
  const file = parseSafetensors(st);
  const storages: Record<string, Uint8Array> = { ...extraStorages };
  const entries: [string, number[]][] = file.names().map((name, i) => {
    const t = file.get(name);
    storages[i] = t.raw().slice();
    const type = { F32: 'FloatStorage', F16: 'HalfStorage', I64: 'LongStorage' }[t.dtype as 'F32'];
    return [name, pk.tensor({ type, key: String(i), numel: t.numel, shape: t.shape })];
  });
  return { pth: checkpoint(pk.pickle(pk.dict([...entries, ...extra])), storages), st };
}

function weightsError(f: () => unknown): EffnetError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(EffnetError);
    expect((e as EffnetError).code).toBe('WEIGHTS');
    return e as EffnetError;
  }
  throw new Error('expected an EffnetError');
}

/** Every array of a ModelParams in a fixed order, so two loads compare bit for bit without a slow deep equal. */
function floatArrays(x: unknown, out: Float32Array[] = []): Float32Array[] {
  if (x instanceof Float32Array) out.push(x);
  else if (typeof x === 'object' && x !== null) for (const v of Object.values(x)) floatArrays(v, out);
  return out;
}

const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Parameters of the model: every tensor but BN's running statistics and batch counter. */
function paramCount(f: SafetensorsFile): number {
  return [...f.tensors.values()].filter((t) => !/running_(mean|var)$|num_batches_tracked$/.test(t.name)).reduce((a, t) => a + t.numel, 0);
}

function expectPlausibleBn(f: SafetensorsFile) {
  const vars = f.names().filter((n) => n.endsWith('running_var'));
  expect(vars.length).toBeGreaterThan(10);
  for (const n of vars) expect(Math.min(...f.get(n).f32())).toBeGreaterThan(0);
}

describe('PyTorch checkpoints (torch.save zip format)', () => {
  it('reads the EfficientNet-PyTorch B0 seed checkpoint (F16 storages)', () => {
    const f = parsePytorchCheckpoint(read('seeds/lukemelas_b0.pth'), { source: 'lukemelas_b0.pth' });
    expect(f.get('_conv_stem.weight').shape).toEqual([32, 3, 3, 3]);
    expect(f.get('_blocks.0._depthwise_conv.weight').shape).toEqual([32, 1, 3, 3]);
    expect(f.get('_fc.weight').shape).toEqual([1000, 1280]);
    expect(f.get('_fc.weight').dtype).toBe('F16');
    expect(f.get('_bn0.num_batches_tracked')).toMatchObject({ dtype: 'I64', shape: [] });
    expect(paramCount(f)).toBe(5_288_548);
    // Every float tensor is finite (num_batches_tracked is I64, a counter no loader reads as a value).
    for (const t of f.tensors.values()) if (t.dtype !== 'I64') expect(t.f32().every(Number.isFinite)).toBe(true);
    expectPlausibleBn(f);
  });

  it('reads the standalone EfficientNetV2-S (width 0.5) seed checkpoint', () => {
    const f = parsePytorchCheckpoint(read('seeds/dli14_effnetv2_s_w050.pth'));
    expect(f.names()[0]).toBe('features.0.0.weight');
    expect(f.get('features.0.0.weight').shape).toEqual([16, 3, 3, 3]);
    expect(f.has('conv.0.weight')).toBe(true);
    expect(f.get('classifier.weight').shape).toEqual([1000, 1792]);
    expect(f.names().some((n) => /^features\.\d+\.conv\.\d+\./.test(n))).toBe(true);
    expect(paramCount(f)).toBe(7_152_216);
    // Every float tensor is finite (num_batches_tracked is I64, a counter no loader reads as a value).
    for (const t of f.tensors.values()) if (t.dtype !== 'I64') expect(t.f32().every(Number.isFinite)).toBe(true);
    expectPlausibleBn(f);
  });

  it('reads F32, F16 and BF16 storages, offsets, shared storages, strided views, parameters, nesting and zip64', () => {
    const shared = f32Bytes([0, 1, 2, 3, 4, 5, 6, 7]);
    const half = new Uint8Array(new Uint16Array([0x3c00, 0xc000]).buffer); // 1, -2
    const bf16 = new Uint8Array(new Uint16Array([0x3f80, 0x4040]).buffer); // 1, 3
    const half4 = new Uint8Array(new Uint16Array([0x3c00, 0x4000, 0x4200, 0x4400]).buffer); // 1, 2, 3, 4
    const double4 = new Uint8Array(new Float64Array([1, 2, 3, 4]).buffer);
    const param = [...pk.global('torch._utils', '_rebuild_parameter'), ...pk.tuple(pk.tensor({ type: 'HalfStorage', key: 'h', numel: 2, shape: [2] }), [0x88], pk.orderedDict()), 0x52];
    const stateDict = [...pk.orderedDict(), 0x28,
      ...pk.str('module.a'), ...pk.tensor({ key: 's', numel: 8, shape: [2, 2] }),
      ...pk.str('module.b'), ...pk.tensor({ key: 's', numel: 8, offset: 4, shape: [4] }),
      ...pk.str('module.t'), ...pk.tensor({ key: 's', numel: 8, shape: [2, 3], stride: [1, 2] }),
      ...pk.str('module.h'), ...param,
      ...pk.str('module.bf'), ...pk.tensor({ type: 'BFloat16Storage', key: 'bf', numel: 2, shape: [2] }),
      // Transposes of 2- and 8-byte elements: gathered as one and two words each.
      ...pk.str('module.ht'), ...pk.tensor({ type: 'HalfStorage', key: 'h4', numel: 4, shape: [2, 2], stride: [1, 2] }),
      ...pk.str('module.dt'), ...pk.tensor({ type: 'DoubleStorage', key: 'd4', numel: 4, shape: [2, 2], stride: [1, 2] }),
      0x75];
    const body = pk.dict([['epoch', pk.int(3)], ['state_dict', stateDict]]);
    const storages = { s: shared, h: half, bf: bf16, h4: half4, d4: double4 };
    const f = parsePytorchCheckpoint(checkpoint(pk.pickle(body), storages));
    const viaZip64 = parsePytorchCheckpoint(checkpoint(pk.pickle(body), storages, { zip64: true }));
    expect(viaZip64.names()).toEqual(f.names());
    for (const name of f.names()) expect([...viaZip64.get(name).f32()]).toEqual([...f.get(name).f32()]);
    expect(f.names()).toEqual(['a', 'b', 't', 'h', 'bf', 'ht', 'dt']);
    expect([...f.get('a').f32()]).toEqual([0, 1, 2, 3]);
    expect([...f.get('b').f32()]).toEqual([4, 5, 6, 7]);
    expect([...f.get('t').f32()]).toEqual([0, 2, 4, 1, 3, 5]); // the transpose of [[0,1],[2,3],[4,5]]
    expect([...f.get('h').f32()]).toEqual([1, -2]);
    expect([...f.get('h').f16Bits()]).toEqual([0x3c00, 0xc000]);
    expect([...f.get('bf').f32()]).toEqual([1, 3]);
    expect([...f.get('ht').f32()]).toEqual([1, 3, 2, 4]);
    expect([...f.get('dt').f32()]).toEqual([1, 3, 2, 4]);
  });

  it('resolveWeights sends .pth bytes and paths through the same torchvision loader as safetensors', async () => {
    const { pth, st } = b0Checkpoint();
    const B0 = getArch('efficientnet_b0');
    const dir = mkdtempSync(join(tmpdir(), 'effnet-pth-'));
    try {
      writeFileSync(join(dir, 'b0.pth'), pth);
      writeFileSync(join(dir, 'garbage.pth'), new Uint8Array(64));
      const fromPath = await resolveWeights(B0, join(dir, 'b0.pth'));
      expect(fromPath.source).toBe(join(dir, 'b0.pth'));
      // The extension alone routes to the checkpoint reader, so its error speaks of PyTorch, not safetensors.
      await expect(resolveWeights(B0, join(dir, 'garbage.pth'))).rejects.toThrow(/garbage\.pth: not a PyTorch checkpoint/);
    } finally {
      rmSync(dir, { recursive: true });
    }
    const fromPth = await resolveWeights(B0, pth);
    const fromSt = await resolveWeights(B0, st);
    expect(fromPth.format).toBe('torchvision');
    const got = floatArrays(fromPth.params), want = floatArrays(fromSt.params);
    expect(got.length).toBe(want.length);
    for (let i = 0; i < got.length; i++) expect(bytesOf(got[i]!).equals(bytesOf(want[i]!))).toBe(true);
  });
});

describe('hostile PyTorch checkpoints give typed errors', () => {
  const good = () => checkpoint(pk.pickle(pk.dict([['w', pk.tensor({ key: '0', numel: 2, shape: [2] })]])), { 0: f32Bytes([1, 2]) });

  it('refuses a global outside the allow-list before anything runs', () => {
    const body = [...pk.global('os', 'system'), ...pk.tuple(pk.str('echo pwned')), 0x52];
    expect(weightsError(() => parsePytorchCheckpoint(checkpoint(pk.pickle(body)))).message).toMatch(/global 'os\.system' is not allowed/);
    const evil = [...pk.global('builtins', 'eval'), ...pk.tuple(pk.str('1'))];
    expect(weightsError(() => parsePytorchCheckpoint(checkpoint(pk.pickle(evil)))).message).toMatch(/'builtins\.eval'/);
  });

  it('refuses a REDUCE of a callable outside the allow-list', () => {
    const body = pk.dict([['w', [...pk.global('torch', 'FloatStorage'), 0x29, 0x52]]]);
    expect(weightsError(() => parsePytorchCheckpoint(checkpoint(pk.pickle(body)))).message).toMatch(/REDUCE of 'torch\.FloatStorage' is not allowed/);
    const ofString = [...pk.str('os.system'), 0x29, 0x52];
    expect(weightsError(() => parsePytorchCheckpoint(checkpoint(pk.pickle(ofString)))).message).toMatch(/REDUCE of a "os\.system" is not allowed/);
  });

  it('refuses truncated archives and pickles', () => {
    const real = read('seeds/lukemelas_b0.pth');
    expect(weightsError(() => parsePytorchCheckpoint(real.subarray(0, real.length - 5000))).message).toMatch(/truncated/);
    const pkl = pk.pickle(pk.dict([['w', pk.tensor({ key: '0', numel: 2, shape: [2] })]]));
    const cut = checkpoint(pkl.subarray(0, 7), { 0: f32Bytes([1, 2]) });
    expect(weightsError(() => parsePytorchCheckpoint(cut)).message).toMatch(/pickle ends inside an opcode/);
  });

  it('refuses a storage shorter than its tensor, naming the tensor', () => {
    const body = pk.dict([['features.0.0.weight', pk.tensor({ key: '0', numel: 2, shape: [2, 2] })]]);
    const e = weightsError(() => parsePytorchCheckpoint(checkpoint(pk.pickle(body), { 0: f32Bytes([1, 2]) })));
    expect(e.message).toMatch(/tensor 'features\.0\.0\.weight'.*needs 16 bytes, but storage '0' holds 8/);
  });

  it('refuses a record declaring more bytes than the archive (zip bomb) and compressed records', () => {
    const zip = good();
    const dv = new DataView(zip.buffer);
    const cd = dv.getUint32(zip.length - 22 + 16, true); // first central directory entry: data.pkl
    const bomb = zip.slice();
    new DataView(bomb.buffer).setUint32(cd + 20, 0xfffffff0, true);
    new DataView(bomb.buffer).setUint32(cd + 24, 0xfffffff0, true);
    bomb[cd + 10] = 8; // deflate
    expect(weightsError(() => parsePytorchCheckpoint(bomb)).message).toMatch(/declares 4294967280 bytes, more than the whole archive .* zip bomb/);
    const deflated = zip.slice();
    deflated[cd + 10] = 8;
    expect(weightsError(() => parsePytorchCheckpoint(deflated)).message).toMatch(/'archive\/data\.pkl' is compressed \(zip method 8\)/);
  });

  it('rejects the legacy pre-1.6 format, saying how to re-save it', () => {
    const legacy = new Uint8Array([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
    expect(weightsError(() => parsePytorchCheckpoint(legacy)).message).toMatch(/legacy \(pre-1\.6\).*_use_new_zipfile_serialization=True/);
  });

  it('any single corrupted byte gives a typed error or a parse, never a crash', () => {
    const zip = good();
    for (let i = 0; i < zip.length; i++) {
      for (const v of [0x00, 0xff, zip[i]! ^ 0x10]) {
        const bad = zip.slice();
        bad[i] = v;
        try {
          parsePytorchCheckpoint(bad).get('w').f32();
        } catch (e) {
          expect(e, `byte ${i} = ${v}`).toBeInstanceOf(EffnetError);
        }
      }
    }
  });

  it('stays healthy afterwards', async () => {
    expect([...parsePytorchCheckpoint(good()).get('w').f32()]).toEqual([1, 2]);
    expect(parsePytorchCheckpoint(read('seeds/lukemelas_b0.pth')).get('_fc.bias').shape).toEqual([1000]);
    await expect(resolveWeights(getArch('efficientnet_b0'), new Uint8Array([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19])))
      .rejects.toThrow(/legacy/);
  });
});

describe('hostile PyTorch checkpoints cost what the model reads', () => {
  /** An 8 MB F32 storage holding 0, 1, 2, … (2M elements). */
  const STORAGE = 2_000_000;
  const arange = () => new Uint8Array(Float32Array.from({ length: STORAGE }, (_, i) => i).buffer);
  /** A tensor of storage 's' viewed as the [2000, 1000] transpose of its [1000, 2000] rows. */
  const transposed = (key = 's') => pk.tensor({ key, numel: STORAGE, shape: [2000, 1000], stride: [1, 2000] });
  /** `count` entries named `name(i)`, each `tensor(i)`. */
  const many = (count: number, name: (i: number) => string, tensor: (i: number) => number[]): [string, number[]][] =>
    Array.from({ length: count }, (_, i) => [name(i), tensor(i)]);
  /** Pickle bytes in pieces, joined: a million-entry tuple stays one typed array rather than a spread of numbers. */
  const cat = (...parts: (number[] | Uint8Array)[]) => {
    const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
    return out;
  };
  /** `n` ones as BININT1, 2 bytes each, so a million-entry shape fits a few MB. */
  const ones = (n: number) => new Uint8Array(2 * n).map((_, i) => (i % 2 ? 1 : 0x4b));
  /** _rebuild_tensor_v2 of storage 's' with the size and stride tuples given as pickle bytes. */
  const rawTensor = (numel: number, size: number[] | Uint8Array, stride: number[] | Uint8Array) => cat(
    pk.global('torch._utils', '_rebuild_tensor_v2'),
    [0x28, ...pk.tuple(pk.str('storage'), pk.global('torch', 'FloatStorage'), pk.str('s'), pk.str('cpu'), pk.int(numel)), 0x51, ...pk.int(0)],
    size, stride, [0x89, ...pk.orderedDict(), 0x74, 0x52],
  );
  /** A protocol-2 pickle of a dict of `entries` (key, value bytes). */
  const rawPickle = (entries: [string, Uint8Array][]) => cat([0x80, 0x02, 0x7d, 0x28], ...entries.flatMap(([k, v]) => [pk.str(k), v]), [0x75, 0x2e]);

  /**
   * 250 contiguous 4 MB views of one 8 MB storage the archive leaves unaligned for F32 (its key's length moves
   * the record), so every view would need its own aligned copy.
   */
  function unalignedViews(): Uint8Array {
    for (const key of ['s', 'sx', 'sxx', 'sxxx']) {
      const entries = many(250, (i) => `v${i}`, (i) => pk.tensor({ key, numel: STORAGE, offset: i * 4000, shape: [1_000_000] }));
      const zip = checkpoint(pk.pickle(pk.dict(entries)), { [key]: arange() });
      if (parsePytorchCheckpoint(zip).get('v0').byteOffset % 4 !== 0) return zip;
    }
    throw new Error('no key length leaves the storage unaligned');
  }

  interface HostileCase {
    name: string;
    file: () => Uint8Array;
    /** What a loader does with the bytes: its result is held while memory is measured, then checked. */
    use: (bytes: Uint8Array) => unknown;
    /** The WEIGHTS error expected; else `check` judges the result. */
    error?: RegExp;
    check?: (result: unknown) => void;
    withinMs: number;
    /** The most ArrayBuffer memory the use may add, its result included. */
    maxBytes: number;
  }

  const parseAll = (bytes: Uint8Array) => {
    const f = parsePytorchCheckpoint(bytes);
    return f.names().map((n) => f.get(n).shape);
  };

  const cases: HostileCase[] = [
    {
      name: 'an 8 MB file whose size tuple has rank 1 000 001 (walked per element, it would run for hours)',
      file: () => {
        const [size, stride] = [500_000, 2].map((n) => cat([0x28, ...pk.int(n)], ones(1_000_000), [0x74]));
        return checkpoint(rawPickle([['w', rawTensor(1_000_000, size!, stride!)]]), { s: new Uint8Array(4_000_000) });
      },
      use: parseAll,
      error: /size of rank 1000001; a tensor may have at most 8 dimensions/,
      withinMs: 2000,
      maxBytes: 64 << 20,
    },
    {
      name: 'a stride tuple of rank 1 000 000 named by 1000 tensors through the memo',
      file: () => {
        const first = rawTensor(4, pk.tuple(pk.int(4)), cat([0x28], ones(1_000_000), [0x74, 0x71, 9])); // BINPUT 9
        const again = rawTensor(4, pk.tuple(pk.int(4)), [0x68, 9]); // BINGET 9
        const rest = Array.from({ length: 999 }, (_, i): [string, Uint8Array] => [`w${i + 1}`, again]);
        return checkpoint(rawPickle([['w0', first], ...rest]), { s: f32Bytes([1, 2, 3, 4]) });
      },
      use: parseAll,
      error: /stride of rank 1000000; a tensor may have at most 8 dimensions/,
      withinMs: 2000,
      maxBytes: 64 << 20,
    },
    {
      name: 'a size of rank 9, the first refused',
      file: () => checkpoint(pk.pickle(pk.dict([['w', pk.tensor({ key: 's', numel: 1, shape: new Array<number>(9).fill(1) })]])), { s: f32Bytes([1]) }),
      use: parseAll,
      error: /size of rank 9; a tensor may have at most 8 dimensions/,
      withinMs: 500,
      maxBytes: 1 << 20,
    },
    {
      name: 'strides that make 2^40 elements overlap in a 4-element storage',
      file: () => checkpoint(pk.pickle(pk.dict([['w', pk.tensor({ key: 's', numel: 4, shape: [2 ** 20, 2 ** 20], stride: [0, 0] })]])), { s: f32Bytes([1, 2, 3, 4]) }),
      use: parseAll,
      error: /tensor 'w': stride \[0,0\] makes 1099511627776 elements overlap in a storage of 4; re-save it with \.contiguous\(\)/,
      withinMs: 500,
      maxBytes: 1 << 20,
    },
    {
      name: '250 transposed views of one 8 MB storage, none read: nothing is gathered',
      file: () => checkpoint(pk.pickle(pk.dict(many(250, (i) => `v${i}`, () => transposed()))), { s: arange() }),
      use: parseAll,
      check: (shapes) => expect(shapes).toEqual(new Array(250).fill([2000, 1000])),
      withinMs: 1000,
      maxBytes: 4 << 20,
    },
    {
      name: '250 transposed views of one 8 MB storage, one read: only it is gathered, as the transpose',
      file: () => checkpoint(pk.pickle(pk.dict(many(250, (i) => `v${i}`, () => transposed()))), { s: arange() }),
      use: (bytes) => parsePytorchCheckpoint(bytes).get('v7').f32(),
      check: (v) => {
        const t = v as Float32Array;
        expect([t.length, t[0], t[1], t[999], t[1000], t[1001], t[t.length - 1]]).toEqual([STORAGE, 0, 2000, 1_998_000, 1, 2001, STORAGE - 1]);
      },
      withinMs: 2000,
      // The view (8 MB), and its storage's one aligned copy when the archive leaves the storage unaligned.
      maxBytes: 20 << 20,
    },
    {
      name: '250 contiguous views of one unaligned 8 MB storage, all read: one aligned copy, shared',
      file: unalignedViews,
      use: (bytes) => {
        const f = parsePytorchCheckpoint(bytes);
        return f.names().map((n) => f.get(n).f32());
      },
      check: (views) => {
        const v = views as Float32Array[];
        expect(new Set(v.map((a) => a.buffer)).size).toBe(1);
        expect([v[0]![0], v[249]![0], v[249]![999_999]]).toEqual([0, 249 * 4000, 249 * 4000 + 999_999]);
      },
      withinMs: 2000,
      maxBytes: 12 << 20,
    },
    {
      name: 'a B0 checkpoint with 250 hostile tensors the model ignores: loads without reading them',
      file: () => b0Checkpoint(many(250, (i) => `junk${i}.num_batches_tracked`, () => transposed('junk')), { junk: arange() }).pth,
      use: (bytes) => resolveWeights(getArch('efficientnet_b0'), bytes),
      check: (w) => expect((w as { format: string }).format).toBe('torchvision'),
      withinMs: 5000,
      // The folded B0 parameters (21 MB) are the result; an ignored view gathered would add 8 MB each.
      maxBytes: 48 << 20,
    },
  ];

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const bytes = c.file();
    const before = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    const result = await Promise.resolve().then(() => c.use(bytes)).then((v) => ({ v }), (e: unknown) => ({ e }));
    const ms = performance.now() - t0;
    const grown = process.memoryUsage().arrayBuffers - before;
    if (c.error) {
      expect('e' in result && result.e instanceof EffnetError && result.e.code === 'WEIGHTS', String('e' in result ? result.e : 'no error')).toBe(true);
      expect((result as { e: Error }).e.message).toMatch(c.error);
    } else {
      expect('v' in result, String('e' in result && result.e)).toBe(true);
      c.check!((result as { v: unknown }).v);
    }
    expect(ms).toBeLessThan(c.withinMs);
    expect(grown).toBeLessThan(c.maxBytes);
    // The reader is healthy afterwards.
    expect(parsePytorchCheckpoint(read('seeds/lukemelas_b0.pth')).get('_fc.bias').f32().length).toBe(1000);
  });
});
