/**
 * PyTorch checkpoint reader (`torch.save` files: .pth, .pt, .bin) for Node and the browser. Since PyTorch 1.6
 * `torch.save` writes a zip archive: `<prefix>/data.pkl` (a pickle of the saved object, tensors in it as
 * persistent ids), `<prefix>/data/<key>` (one record per storage, raw little-endian elements) and
 * `<prefix>/version`. The result implements the `SafetensorsFile` interface, so every state-dict naming reads a
 * checkpoint exactly as it reads a safetensors file.
 *
 * The archive is untrusted input. The pickle is read by a small stack machine that executes nothing: a GLOBAL may
 * only name the constructors a state dict needs (ALLOWED_GLOBALS) and a REDUCE may only call the ones that build
 * dicts and tensors, so a checkpoint cannot run code (`os.system`, `builtins.eval`) the way `pickle.load` would.
 * Every zip offset and size is checked against the archive before any view is made, and the storages are views
 * into the archive (nothing is decompressed), so a declared size larger than the file is refused, never allocated.
 * A tensor has at most MAX_RANK dimensions and never more elements than its storage holds; its bytes are made
 * only when a loader asks for them (a contiguous view is a view of its storage, a strided one is gathered then;
 * a storage the archive leaves unaligned is copied once, for all its views), so reading costs time and memory in
 * proportion to the tensors the model uses, not to what the pickle names.
 * Every failure is an EffnetError('WEIGHTS') naming the source and the problem.
 */
import { EffnetError } from '../errors.js';
import { DTYPE_BYTES, StoredTensor, type Dtype, type SafetensorsFile, type TensorInfo } from '../safetensors.js';

export interface PytorchParseOptions {
  /** Names the bytes in error messages, e.g. the file path or URL. */
  source?: string;
}

/** `torch.<X>Storage` → element type; the storage type is how the pickle states a tensor's dtype. */
const STORAGE_DTYPES: Record<string, Dtype> = {
  'torch.FloatStorage': 'F32',
  'torch.HalfStorage': 'F16',
  'torch.BFloat16Storage': 'BF16',
  'torch.DoubleStorage': 'F64',
  'torch.LongStorage': 'I64',
  'torch.IntStorage': 'I32',
  'torch.ShortStorage': 'I16',
  'torch.CharStorage': 'I8',
  'torch.ByteStorage': 'U8',
  'torch.BoolStorage': 'BOOL',
};


/** The callables a REDUCE may apply (`reduce` says what each builds); storage types may only be named. */
const CALLABLES = [
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
];
const ALLOWED_GLOBALS = new Set([...CALLABLES, ...Object.keys(STORAGE_DTYPES)]);

/**
 * The most dimensions a tensor may have (EfficientNet's have at most 4). Checked before a shape is read, so each
 * tensor costs O(1) however long a size tuple the pickle holds, or however many tensors share one through the memo.
 */
const MAX_RANK = 8;

/** Where training code nests the state dict: `torch.save({'state_dict': model.state_dict(), 'epoch': ...})`. */
const NESTED_STATE_DICT_KEYS = ['state_dict', 'model', 'model_state_dict'];

const ZIP_LOCAL_MAGIC = [0x50, 0x4b, 0x03, 0x04];
/** Pre-1.6 `torch.save` files begin with a protocol-2 pickle of the LONG1 magic number 0x1950a86a20f9469cfc6c. */
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/** True for bytes `torch.save` wrote: the zip format, or the legacy format (which the parser rejects clearly). */
export function looksLikePytorchCheckpoint(bytes: Uint8Array): boolean {
  return startsWith(bytes, ZIP_LOCAL_MAGIC) || startsWith(bytes, LEGACY_MAGIC);
}

export function parsePytorchCheckpoint(bytes: Uint8Array | ArrayBuffer, opts: PytorchParseOptions = {}): SafetensorsFile {
  const source = opts.source ?? '<buffer>';
  const archive = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const fail = (msg: string): never => { throw new EffnetError('WEIGHTS', `${source}: ${msg}`); };

  if (archive[0] === 0x80) {
    fail('legacy (pre-1.6) torch.save format, which this reader does not support; re-save it with ' +
      '`torch.save(torch.load(path), path, _use_new_zipfile_serialization=True)` (the default since PyTorch 1.6)');
  }
  if (!startsWith(archive, ZIP_LOCAL_MAGIC)) fail('not a PyTorch checkpoint (no zip signature PK\\x03\\x04 at byte 0)');

  const records = readStoredZip(archive, fail);
  const pickles = [...records.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) fail(`expected one '<prefix>/data.pkl' in the archive, found ${pickles.length}`);
  const prefix = pickles[0]!.slice(0, -'data.pkl'.length);
  const byteorder = records.get(`${prefix}byteorder`);
  if (byteorder && new TextDecoder().decode(byteorder) !== 'little') {
    fail('storages are big-endian (byteorder record); only little-endian checkpoints are supported');
  }

  const root = unpickle(records.get(pickles[0]!)!, fail);
  const stateDict = findStateDict(root, fail);

  // A storage the archive leaves unaligned for its element type is copied once, on first use, for all its views.
  const aligned = new Map<string, Uint8Array>();
  const storageBytes = (name: string, record: Uint8Array, elementBytes: number) => () => {
    if (record.byteOffset % elementBytes === 0) return record;
    let copy = aligned.get(name);
    if (!copy) aligned.set(name, (copy = record.slice()));
    return copy;
  };

  const tensors = new Map<string, TensorInfo>();
  const entries = [...stateDict].filter((e): e is [string, TensorRef] => typeof e[0] === 'string' && e[1] instanceof TensorRef);
  if (entries.length === 0) fail('the checkpoint holds no tensors under string keys (not a state dict)');
  // DataParallel / DistributedDataParallel save every key under `module.`; the wrapped model's names are the rest.
  const strip = entries.every(([name]) => name.startsWith('module.')) ? 'module.'.length : 0;
  for (const [name, ref] of entries) {
    const key = name.slice(strip);
    const recordName = `${prefix}data/${ref.storage.key}`;
    const record = records.get(recordName) ?? fail(`tensor '${key}': storage record '${recordName}' is missing from the archive`);
    const bytes = storageBytes(recordName, record, DTYPE_BYTES[ref.storage.dtype]);
    tensors.set(key, tensorFromRef(key, ref, record.byteOffset - archive.byteOffset, record.length, bytes, source, fail));
  }

  return {
    metadata: {},
    tensors,
    names: () => [...tensors.keys()],
    has: (name) => tensors.has(name),
    get: (name) => tensors.get(name) ?? fail(`no tensor named '${name}' (the checkpoint has ${tensors.size} tensors)`),
  };
}

type Fail = (msg: string) => never;

// ---- zip ---------------------------------------------------------------------------------------------------------

/**
 * Every record of the archive as a view into it. Reads the central directory (the authority on sizes: torch's
 * writer may follow local headers with data descriptors), with zip64 fields where the 32-bit ones are saturated.
 * Only STORED records are accepted; `torch.save` never compresses.
 */
function readStoredZip(zip: Uint8Array, fail: Fail): Map<string, Uint8Array> {
  const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const size = zip.length;
  const u16 = (at: number) => dv.getUint16(at, true);
  const u32 = (at: number) => dv.getUint32(at, true);
  const u64 = (at: number, what: string): number => {
    const v = dv.getBigUint64(at, true);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : fail(`zip64 ${what} ${v} is not a usable size`);
  };

  // The end-of-central-directory record is the last 22 bytes plus a comment of at most 65535 bytes.
  let eocd = -1;
  for (let at = size - 22; at >= Math.max(0, size - 22 - 0xffff); at--) {
    if (u32(at) === 0x06054b50 && at + 22 + u16(at + 20) === size) { eocd = at; break; }
  }
  if (eocd < 0) fail(`truncated or not a zip archive: no end-of-central-directory record in its ${size} bytes`);
  let entries = u16(eocd + 10), cdSize = u32(eocd + 12), cdOffset = u32(eocd + 16);
  if (entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || u32(locator) !== 0x07064b50) fail('zip64 sizes are announced but the zip64 locator is missing');
    const at = u64(locator + 8, 'end-of-central-directory offset');
    if (at + 56 > locator || u32(at) !== 0x06064b50) fail(`zip64 end record at byte ${at} is missing or out of bounds`);
    entries = u64(at + 32, 'entry count');
    cdSize = u64(at + 40, 'central directory size');
    cdOffset = u64(at + 48, 'central directory offset');
  }
  if (cdOffset + cdSize > eocd) {
    fail(`central directory [${cdOffset}, ${cdOffset + cdSize}) runs past its end record at byte ${eocd} (truncated archive?)`);
  }
  if (entries * 46 > cdSize) fail(`${entries} entries cannot fit a central directory of ${cdSize} bytes`);

  const records = new Map<string, Uint8Array>();
  const utf8 = new TextDecoder();
  let at = cdOffset;
  for (let i = 0; i < entries; i++) {
    if (at + 46 > cdOffset + cdSize || u32(at) !== 0x02014b50) fail(`central directory entry ${i} at byte ${at} is malformed`);
    const method = u16(at + 10), nameLength = u16(at + 28), extraLength = u16(at + 30), commentLength = u16(at + 32);
    const next = at + 46 + nameLength + extraLength + commentLength;
    if (next > cdOffset + cdSize) fail(`central directory entry ${i} runs past the central directory`);
    const name = utf8.decode(zip.subarray(at + 46, at + 46 + nameLength));
    let uncompressed = u32(at + 24), compressed = u32(at + 20), local = u32(at + 42);
    // zip64 extended information: the 64-bit values of the saturated fields, in this order.
    const extraEnd = at + 46 + nameLength + extraLength;
    for (let e = at + 46 + nameLength; e + 4 <= extraEnd;) {
      const id = u16(e), length = u16(e + 2);
      if (e + 4 + length > extraEnd) fail(`record '${name}': extra field runs past its entry`);
      if (id === 0x0001) {
        let f = e + 4;
        const field = (v: number, what: string) => {
          if (v !== 0xffffffff) return v;
          if (f + 8 > e + 4 + length) fail(`record '${name}': zip64 ${what} is announced but missing`);
          const w = u64(f, `${what} of '${name}'`);
          f += 8;
          return w;
        };
        uncompressed = field(uncompressed, 'uncompressed size');
        compressed = field(compressed, 'compressed size');
        local = field(local, 'local header offset');
      }
      e += 4 + length;
    }
    // Sizes are checked before the method: a compressed record claiming more than the archive is a zip bomb.
    if (uncompressed > size || compressed > size) {
      fail(`record '${name}' declares ${Math.max(uncompressed, compressed)} bytes, more than the whole archive ` +
        `(${size} bytes): refused as a zip bomb or corrupt archive`);
    }
    if (method !== 0) {
      fail(`record '${name}' is compressed (zip method ${method}); torch.save stores records uncompressed: ` +
        're-save the checkpoint with torch.save instead of re-zipping it');
    }
    if (compressed !== uncompressed) fail(`record '${name}' is stored but its sizes differ (${compressed} vs ${uncompressed})`);
    if (local + 30 > cdOffset || u32(local) !== 0x04034b50) fail(`record '${name}': no local header at byte ${local}`);
    const data = local + 30 + u16(local + 26) + u16(local + 28);
    if (data + compressed > cdOffset) {
      fail(`record '${name}': ${compressed} bytes at byte ${data} run past the data area (${cdOffset} bytes; truncated archive?)`);
    }
    records.set(name, zip.subarray(data, data + compressed));
    at = next;
  }
  return records;
}

// ---- restricted unpickler ------------------------------------------------------------------------------------------

/** A `module.qualname` the pickle named with GLOBAL; only ever an entry of ALLOWED_GLOBALS. */
class PyGlobal {
  constructor(readonly name: string) {}
}

/** A persistent id ('storage', storage_type, key, location, numel): the record `data/<key>`. */
class StorageRef {
  constructor(readonly dtype: Dtype, readonly key: string, readonly numel: number) {}
}

class TensorRef {
  constructor(readonly storage: StorageRef, readonly offset: number, readonly shape: number[], readonly stride: number[]) {}
}

type PyValue = null | boolean | number | string | PyValue[] | PyDict | PyGlobal | StorageRef | TensorRef;
interface PyDict extends Map<PyValue, PyValue> {}

const OP = {
  PROTO: 0x80, STOP: 0x2e, MARK: 0x28, EMPTY_DICT: 0x7d, EMPTY_LIST: 0x5d, EMPTY_TUPLE: 0x29, TUPLE: 0x74,
  TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87, BINPUT: 0x71, LONG_BINPUT: 0x72, BINGET: 0x68, LONG_BINGET: 0x6a,
  BININT: 0x4a, BININT1: 0x4b, BININT2: 0x4d, LONG1: 0x8a, BINUNICODE: 0x58, SHORT_BINUNICODE: 0x8c,
  BINFLOAT: 0x47, NEWTRUE: 0x88, NEWFALSE: 0x89, NONE: 0x4e, SETITEM: 0x73, SETITEMS: 0x75, APPEND: 0x61,
  APPENDS: 0x65, GLOBAL: 0x63, REDUCE: 0x52, BUILD: 0x62, BINPERSID: 0x51,
} as const;

function unpickle(pkl: Uint8Array, failIn: Fail): PyValue {
  const dv = new DataView(pkl.buffer, pkl.byteOffset, pkl.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let stack: PyValue[] = [];
  const marks: PyValue[][] = [];
  const memo = new Map<number, PyValue>();
  let pos = 0, opAt = 0;
  const fail = (msg: string): never => failIn(`data.pkl byte ${opAt}: ${msg}`);

  const take = (n: number): number => {
    if (pos + n > pkl.length) fail(`pickle ends inside an opcode (needs ${n} more bytes, ${pkl.length - pos} left)`);
    const at = pos;
    pos += n;
    return at;
  };
  const text = (n: number): string => {
    const at = take(n);
    try {
      return utf8.decode(pkl.subarray(at, at + n));
    } catch {
      return fail('string is not valid UTF-8');
    }
  };
  const line = (): string => {
    const end = pkl.indexOf(0x0a, pos);
    if (end < 0) fail('GLOBAL name is not newline-terminated');
    const name = text(end - pos);
    take(1); // the newline
    return name;
  };
  const pop = (): PyValue => (stack.length > 0 ? stack.pop()! : fail('stack underflow'));
  const top = (): PyValue => (stack.length > 0 ? stack[stack.length - 1]! : fail('stack underflow'));
  const popMark = (): PyValue[] => {
    const items = stack;
    stack = marks.pop() ?? fail('no MARK to pop to');
    return items;
  };
  const dict = (v: PyValue, op: string): PyDict => (v instanceof Map ? v : fail(`${op} on a ${describe(v)}, not a dict`));
  const list = (v: PyValue, op: string): PyValue[] => (Array.isArray(v) ? v : fail(`${op} on a ${describe(v)}, not a list`));

  for (;;) {
    opAt = pos;
    const op = pkl[take(1)]!;
    switch (op) {
      case OP.PROTO: {
        const version = pkl[take(1)]!;
        if (version > 5) fail(`pickle protocol ${version} is unknown`);
        break;
      }
      case OP.STOP: return pop();
      case OP.MARK: marks.push(stack); stack = []; break;
      case OP.EMPTY_DICT: stack.push(new Map()); break;
      case OP.EMPTY_LIST: case OP.EMPTY_TUPLE: stack.push([]); break;
      case OP.TUPLE: { const items = popMark(); stack.push(items); break; }
      case OP.TUPLE1: { const a = pop(); stack.push([a]); break; }
      case OP.TUPLE2: { const b = pop(), a = pop(); stack.push([a, b]); break; }
      case OP.TUPLE3: { const c = pop(), b = pop(), a = pop(); stack.push([a, b, c]); break; }
      case OP.BINPUT: memo.set(pkl[take(1)]!, top()); break;
      case OP.LONG_BINPUT: memo.set(dv.getUint32(take(4), true), top()); break;
      case OP.BINGET: case OP.LONG_BINGET: {
        const key = op === OP.BINGET ? pkl[take(1)]! : dv.getUint32(take(4), true);
        stack.push(memo.has(key) ? memo.get(key)! : fail(`memo key ${key} was never stored`));
        break;
      }
      case OP.BININT: stack.push(dv.getInt32(take(4), true)); break;
      case OP.BININT1: stack.push(pkl[take(1)]!); break;
      case OP.BININT2: stack.push(dv.getUint16(take(2), true)); break;
      case OP.LONG1: {
        const n = pkl[take(1)]!, at = take(n);
        if (n > 8) fail(`LONG1 of ${n} bytes does not fit a 64-bit integer`);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(pkl[at + i]!);
        if (n > 0 && pkl[at + n - 1]! & 0x80) v -= 1n << BigInt(8 * n); // two's complement
        const safe = v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER);
        stack.push(safe ? Number(v) : fail(`integer ${v} is too large`));
        break;
      }
      case OP.BINUNICODE: stack.push(text(dv.getUint32(take(4), true))); break;
      case OP.SHORT_BINUNICODE: stack.push(text(pkl[take(1)]!)); break;
      case OP.BINFLOAT: stack.push(dv.getFloat64(take(8), false)); break;
      case OP.NEWTRUE: stack.push(true); break;
      case OP.NEWFALSE: stack.push(false); break;
      case OP.NONE: stack.push(null); break;
      case OP.SETITEM: { const v = pop(), k = pop(); dict(top(), 'SETITEM').set(k, v); break; }
      case OP.SETITEMS: {
        const items = popMark(), d = dict(top(), 'SETITEMS');
        if (items.length % 2) fail('SETITEMS with an odd number of items');
        for (let i = 0; i < items.length; i += 2) d.set(items[i]!, items[i + 1]!);
        break;
      }
      case OP.APPEND: { const v = pop(); list(top(), 'APPEND').push(v); break; }
      case OP.APPENDS: {
        const items = popMark(), l = list(top(), 'APPENDS');
        for (const item of items) l.push(item);
        break;
      }
      case OP.GLOBAL: {
        const name = `${line()}.${line()}`;
        if (!ALLOWED_GLOBALS.has(name)) {
          fail(`global '${name}' is not allowed: a state dict needs only collections.OrderedDict, ` +
            'torch._utils tensor rebuilders and torch storage types (the pickle would run code, or holds objects other than tensors)');
        }
        stack.push(new PyGlobal(name));
        break;
      }
      case OP.REDUCE: { const args = pop(), callable = pop(); stack.push(reduce(callable, args, fail)); break; }
      case OP.BUILD: {
        // The one BUILD a state dict holds sets the OrderedDict's `_metadata` attribute (module versions), unused here.
        const state = pop();
        dict(top(), 'BUILD');
        dict(state, 'BUILD state');
        break;
      }
      case OP.BINPERSID: stack.push(storageFromPersistentId(pop(), fail)); break;
      default: fail(`opcode 0x${op.toString(16).padStart(2, '0')} is not one a torch.save state dict uses`);
    }
  }
}

function reduce(callable: PyValue, args: PyValue, fail: Fail): PyValue {
  if (!(callable instanceof PyGlobal) || !CALLABLES.includes(callable.name)) {
    const what = callable instanceof PyGlobal ? `'${callable.name}'` : `a ${describe(callable)}`;
    return fail(`REDUCE of ${what} is not allowed: only ${CALLABLES.join(', ')} may be called`);
  }
  if (!Array.isArray(args)) return fail(`REDUCE of '${callable.name}' with a ${describe(args)} instead of an argument tuple`);
  switch (callable.name) {
    case 'collections.OrderedDict':
      return args.length === 0 ? new Map() : fail('collections.OrderedDict called with arguments (pickle writes its items with SETITEMS)');
    case 'torch._utils._rebuild_tensor_v2': {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      const [storage, offset, shape, stride] = args;
      if (!(storage instanceof StorageRef)) return fail(`_rebuild_tensor_v2 of a ${describe(storage)}, not a storage`);
      for (const [v, what] of [[shape, 'size'], [stride, 'stride']] as const) {
        if (Array.isArray(v) && v.length > MAX_RANK) fail(`_rebuild_tensor_v2: ${what} of rank ${v.length}; a tensor may have at most ${MAX_RANK} dimensions`);
      }
      const shapeList = counts(shape, 'size', fail), strideList = counts(stride, 'stride', fail);
      if (strideList.length !== shapeList.length) fail(`_rebuild_tensor_v2: size [${shapeList}] and stride [${strideList}] differ in rank`);
      return new TensorRef(storage, count(offset, 'storage offset', fail), shapeList, strideList);
    }
    default: {
      // _rebuild_parameter(data, requires_grad, backward_hooks[, state]): a Parameter is its data here.
      const data = args[0];
      return data instanceof TensorRef ? data : fail(`${callable.name} of a ${describe(data)}, not a tensor`);
    }
  }
}

function storageFromPersistentId(pid: PyValue, fail: Fail): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length !== 5) {
    return fail(`persistent id ${describe(pid)} is not ('storage', type, key, location, numel)`);
  }
  const [, type, key, , numel] = pid;
  const dtype = type instanceof PyGlobal ? STORAGE_DTYPES[type.name] : undefined;
  if (!dtype) return fail(`persistent id names ${describe(type)}, not a torch storage type`);
  if (typeof key !== 'string') return fail(`storage key ${describe(key)} is not a string`);
  return new StorageRef(dtype, key, count(numel, `numel of storage '${key}'`, fail));
}

function count(v: PyValue, what: string, fail: Fail): number {
  return Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : fail(`${what} ${describe(v)} is not a non-negative integer`);
}

function counts(v: PyValue, what: string, fail: Fail): number[] {
  return Array.isArray(v) ? v.map((x) => count(x, what, fail)) : fail(`${what} ${describe(v)} is not a tuple`);
}

function describe(v: PyValue | undefined): string {
  if (v instanceof PyGlobal) return `global '${v.name}'`;
  if (v instanceof Map) return 'dict';
  if (Array.isArray(v)) return `tuple of ${v.length}`;
  if (v instanceof StorageRef) return 'storage';
  if (v instanceof TensorRef) return 'tensor';
  if (v === undefined) return 'nothing';
  const json = JSON.stringify(v);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

/** The dict of tensors: the saved object itself, or one nested under a training checkpoint's wrapper key. */
function findStateDict(root: PyValue, fail: Fail): PyDict {
  let d = root instanceof Map ? root : fail(`the checkpoint holds a ${describe(root)}, not a dict`);
  for (let depth = 0; depth < NESTED_STATE_DICT_KEYS.length; depth++) {
    if ([...d.values()].some((v) => v instanceof TensorRef)) return d;
    const key = NESTED_STATE_DICT_KEYS.find((k) => d.get(k) instanceof Map);
    if (!key) break;
    d = d.get(key) as PyDict;
  }
  const keys = [...d.keys()].slice(0, 8).map((k) => describe(k)).join(', ');
  return fail(`no state dict: no tensors at the top level or under ${NESTED_STATE_DICT_KEYS.map((k) => `'${k}'`).join(', ')} (keys: ${keys})`);
}

// ---- tensors -------------------------------------------------------------------------------------------------------

/**
 * A checkpoint tensor whose bytes are made on each request and not kept: a view of its storage when contiguous,
 * else its elements gathered into row-major order. What the loader does not ask for is never made.
 */
class CheckpointTensor implements TensorInfo {
  readonly byteLength: number;
  constructor(
    readonly name: string,
    readonly dtype: Dtype,
    readonly shape: number[],
    readonly byteOffset: number,
    readonly numel: number,
    private readonly bytes: () => Uint8Array,
    private readonly source: string,
  ) {
    this.byteLength = numel * DTYPE_BYTES[dtype];
  }

  raw(): Uint8Array {
    return this.bytes();
  }

  f32(): Float32Array {
    return this.stored().f32();
  }

  f16Bits(): Uint16Array {
    return this.stored().f16Bits();
  }

  private stored(): StoredTensor {
    return new StoredTensor(this.name, this.dtype, this.shape, this.byteOffset, this.numel, this.bytes(), this.source);
  }
}

/**
 * The tensor `ref` names, checked against its storage (`recordLength` bytes at `recordStart` in the archive;
 * `storage()` its bytes, aligned to the element size): every element it reads lies inside the storage, and it
 * has no more elements than the storage holds (so a gather costs at most the storage's size).
 */
function tensorFromRef(name: string, ref: TensorRef, recordStart: number, recordLength: number, storage: () => Uint8Array, source: string, fail: Fail): TensorInfo {
  const { storage: s, offset, shape, stride } = ref;
  const size = DTYPE_BYTES[s.dtype];
  const bad = (msg: string): never => fail(`tensor '${name}': ${msg}`);
  if (s.numel * size > recordLength) {
    bad(`storage '${s.key}' declares ${s.numel} ${s.dtype} elements but its record holds ${recordLength} bytes`);
  }
  const numel = shape.reduce((a, b) => a * b, 1);
  // The furthest element the tensor reads; an empty tensor reads none.
  const last = offset + shape.reduce((a, n, i) => a + (n - 1) * stride[i]!, 0);
  if (numel > 0 && last + 1 > s.numel) {
    bad(`shape [${shape}] with stride [${stride}] at storage offset ${offset} needs ${(last + 1) * size} bytes, ` +
      `but storage '${s.key}' holds ${s.numel * size}`);
  }
  // Only overlapping strides (an expanded tensor) can name more elements than the storage; state dicts hold none.
  if (numel > s.numel) bad(`stride [${stride}] makes ${numel} elements overlap in a storage of ${s.numel}; re-save it with .contiguous()`);
  let contiguous = true;
  for (let i = shape.length - 1, want = 1; i >= 0; want *= shape[i]!, i--) {
    if (shape[i]! !== 1 && stride[i]! !== want) contiguous = false;
  }
  const bytes = numel === 0 ? () => new Uint8Array(0)
    : contiguous ? () => storage().subarray(offset * size, (offset + numel) * size)
    : () => gather(storage(), size, offset, shape, stride, numel);
  return new CheckpointTensor(name, s.dtype, shape, recordStart + offset * size, numel, bytes, source);
}

/**
 * A strided view copied out into row-major order (torch.save keeps views' storages whole). Dimensions of size 1
 * are dropped first, so each element costs O(1); elements move as 1-, 2- or 4-byte words (an 8-byte one as two)
 * out of `storage`, which is aligned to the element size.
 */
function gather(storage: Uint8Array, size: number, offset: number, shape: number[], stride: number[], numel: number): Uint8Array {
  const word = Math.min(size, 4), per = size / word;
  const Words = word === 4 ? Uint32Array : word === 2 ? Uint16Array : Uint8Array;
  const from = new Words(storage.buffer as ArrayBuffer, storage.byteOffset, Math.floor(storage.length / word));
  const out = new Words(numel * per);
  const dims = shape.flatMap((n, i) => (n === 1 ? [] : [{ n, step: stride[i]! * per }]));
  const inner = dims.pop() ?? { n: 1, step: 0 };
  const index = dims.map(() => 0);
  let base = offset * per, o = 0;
  for (;;) {
    for (let j = 0, at = base; j < inner.n; j++, at += inner.step) for (let w = 0; w < per; w++) out[o++] = from[at + w]!;
    let d = dims.length - 1;
    for (; d >= 0; d--) {
      const dim = dims[d]!;
      base += dim.step;
      if (++index[d]! < dim.n) break;
      base -= dim.step * dim.n;
      index[d] = 0;
    }
    if (d < 0) return new Uint8Array(out.buffer);
  }
}

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}
