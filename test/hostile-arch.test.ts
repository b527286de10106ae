/**
 * Hostile architectures as data: an engine weights file (`effnet-webgpu/1`) whose `__metadata__` carries an
 * ArchSpec past the limits (ARCH_LIMITS), an unknown preprocessing, or a non-finite input affine. Every case
 * asserts the EffnetError code and a message fragment, that it is refused within a time bound without the
 * process growing, and that a good file still loads afterwards; the zoo and custom tables at the limits pass.
 */
import { describe, expect, test } from 'vitest';
import { isEffnetError, type ErrorCode } from '../src/errors.js';
import { ARCH_LIMITS, ARCHS, customArch, getArch, scaledArch, validateArch, zooVariants, type ArchSpec, type StageRow } from '../src/model/tables.js';
import { serializeSafetensors } from '../src/safetensors.js';
import { serializeEffnetWeights } from '../src/weights/effnet-format.js';
import { resolveWeights } from '../src/weights/load.js';
import { randomParams } from '../src/weights/random.js';

const B0 = getArch('efficientnet_b0');
const ROW: StageRow = B0.stages[1]!;
const L = ARCH_LIMITS;

/** An engine weights file whose metadata says `arch` (any JSON) and `preprocess`; one placeholder tensor. */
function archFile(arch: unknown, preprocess = 'torchvision'): Uint8Array {
  return serializeSafetensors({ 'x.weight': { dtype: 'F32', shape: [1], data: new Float32Array(1) } }, { format: 'effnet-webgpu/1', arch: JSON.stringify(arch), preprocess });
}
const b0With = (edit: (a: Record<string, unknown> & { stages: Record<string, unknown>[] }) => void): unknown => {
  const a = structuredClone(B0) as unknown as Record<string, unknown> & { stages: Record<string, unknown>[] };
  edit(a);
  return a;
};

/** B0's weights with `affine` as its input affine, as the engine writes them. */
const b0File = (affine: { scale: number[]; shift: number[] }): Uint8Array => serializeEffnetWeights(B0, { ...randomParams(B0), inputAffine: affine }, 'tfjs');
const GOOD_AFFINE = { scale: [2, 2, 2], shift: [-1, -1, -1] };
const good = b0File(GOOD_AFFINE);

interface Case {
  name: string;
  bytes: () => Uint8Array;
  code: ErrorCode;
  message: RegExp;
}

const cases: Case[] = [
  { name: '1e9 repeats', bytes: () => archFile(b0With((a) => (a.stages[0]!.repeats = 1e9))), code: 'WEIGHTS', message: /stage 1: repeats must be a positive integer up to 256, got 1000000000/ },
  { name: '3e6 repeats', bytes: () => archFile(b0With((a) => (a.stages[6]!.repeats = 3e6))), code: 'WEIGHTS', message: /stage 7: repeats must be .* up to 256, got 3000000/ },
  { name: '200k stages', bytes: () => archFile(b0With((a) => (a.stages = Array.from({ length: 200_000 }, () => ({ ...ROW }))))), code: 'WEIGHTS', message: /stages must be a non-empty array of at most 32 rows, got 200000 rows/ },
  { name: 'every stage at the repeat limit: too many blocks in all', bytes: () => archFile(b0With((a) => a.stages.forEach((r) => (r.repeats = L.repeats)))), code: 'WEIGHTS', message: /1792 blocks in all, more than 1024/ },
  { name: 'a 1e9-channel stage', bytes: () => archFile(b0With((a) => (a.stages[3]!.outC = 1e9))), code: 'WEIGHTS', message: /stage 4: outC must be .* up to 16384/ },
  { name: 'a 1e6-channel stem', bytes: () => archFile(b0With((a) => (a.stemC = 1e6))), code: 'WEIGHTS', message: /stemC must be .* up to 16384, got 1000000/ },
  { name: 'a 1e8-channel head', bytes: () => archFile(b0With((a) => (a.headC = 1e8))), code: 'WEIGHTS', message: /headC must be .* up to 16384/ },
  { name: '1e9 classes', bytes: () => archFile(b0With((a) => (a.numClasses = 1e9))), code: 'WEIGHTS', message: /numClasses must be .* up to 65536/ },
  { name: 'resolution 1e6', bytes: () => archFile(b0With((a) => (a.resolution = 1e6))), code: 'WEIGHTS', message: /resolution must be .* up to 4096/ },
  { name: 'expand 1000', bytes: () => archFile(b0With((a) => (a.stages[2]!.expand = 1000))), code: 'WEIGHTS', message: /stage 3: expand must be .* up to 16/ },
  { name: 'kernel 9', bytes: () => archFile(b0With((a) => (a.stages[2]!.kernel = 9))), code: 'WEIGHTS', message: /stage 3: kernel must be 3, 5 or 7, got 9/ },
  { name: 'stride 4', bytes: () => archFile(b0With((a) => (a.stages[2]!.stride = 4))), code: 'WEIGHTS', message: /stride must be 1 or 2, got 4/ },
  { name: 'se 50', bytes: () => archFile(b0With((a) => (a.stages[2]!.se = 50))), code: 'WEIGHTS', message: /se must be in \[0, 1\], got 50/ },
  { name: 'bnEps 1e300', bytes: () => archFile(b0With((a) => (a.bnEps = 1e300))), code: 'WEIGHTS', message: /bnEps must be > 0 and at most 1, got 1e\+300/ },
  // JSON has no NaN: it arrives as null.
  { name: 'bnEps NaN', bytes: () => archFile(b0With((a) => (a.bnEps = NaN))), code: 'WEIGHTS', message: /bnEps must be > 0 and at most 1, got null/ },
  { name: 'repeats as a huge array (not echoed)', bytes: () => archFile(b0With((a) => (a.stages[0]!.repeats = new Array(100_000).fill(7)))), code: 'WEIGHTS', message: /repeats must be .*, got an array\)$/ },
  { name: 'a 1 MB name (not echoed)', bytes: () => archFile(b0With((a) => (a.name = 'x'.repeat(2 ** 20)))), code: 'WEIGHTS', message: /name must be a string of 1\.\.256 characters, got 1048576 characters\)$/ },
  { name: 'a 1 MB block kind (cut short)', bytes: () => archFile(b0With((a) => (a.stages[0]!.block = 'y'.repeat(2 ** 20)))), code: 'WEIGHTS', message: /block must be one of .*, got 'y{32}'\)$/ },
  { name: 'published figures that are not numbers', bytes: () => archFile(b0With((a) => (a.published = { params: 'many', macs: 1, source: 'x' }))), code: 'WEIGHTS', message: /published must hold finite, non-negative params and macs/ },
  { name: 'arch: null', bytes: () => archFile(null), code: 'WEIGHTS', message: /must be an object, got null/ },
  { name: 'arch: a number', bytes: () => archFile(1e9), code: 'WEIGHTS', message: /an architecture must be an object, got 1000000000/ },
  { name: 'a stage row that is null', bytes: () => archFile(b0With((a) => (a.stages[1] = null as never))), code: 'WEIGHTS', message: /stage 2 must be an object, got null/ },
  { name: "preprocess 'TFJS'", bytes: () => archFile(B0, 'TFJS'), code: 'WEIGHTS', message: /__metadata__\.preprocess must be 'tfjs' or 'torchvision', got 'TFJS'/ },
  { name: "preprocess ''", bytes: () => archFile(B0, ''), code: 'WEIGHTS', message: /__metadata__\.preprocess must be .*, got ''/ },
  { name: 'NaN in input_affine.scale', bytes: () => b0File({ scale: [1, NaN, 1], shift: [0, 0, 0] }), code: 'WEIGHTS', message: /input_affine\.scale\[1\] is NaN; the input affine must be finite/ },
  { name: '-Infinity in input_affine.shift', bytes: () => b0File({ scale: [1, 1, 1], shift: [0, 0, -Infinity] }), code: 'WEIGHTS', message: /input_affine\.shift\[2\] is -Infinity/ },
];

describe('hostile engine weights files: refused at load, fast and small, a good file loading after', () => {
  test.each(cases)('$name → $code', async ({ bytes, code, message }) => {
    const file = bytes();
    const rss = process.memoryUsage().rss;
    const t0 = performance.now();
    const e = await resolveWeights(undefined, file).then(
      () => undefined,
      (err: unknown) => err,
    );
    const ms = performance.now() - t0;
    expect(isEffnetError(e, code), `expected EffnetError('${code}'), got ${String(e)}`).toBe(true);
    expect((e as Error).message).toMatch(message);
    expect(ms).toBeLessThan(2000);
    expect(process.memoryUsage().rss - rss).toBeLessThan(256 * 2 ** 20);

    const ok = await resolveWeights(undefined, good);
    expect(ok.spec.name).toBe('efficientnet_b0');
    expect(ok.preprocess).toBe('tfjs');
    expect(ok.params.inputAffine).toEqual(GOOD_AFFINE);
  });
});

describe('the limits leave every zoo and width-scaled table, and custom ones up to them, valid', () => {
  test('every zoo architecture, and the free-width families at twice their width', () => {
    for (const spec of Object.values(ARCHS)) expect(validateArch(spec)).toBe(spec);
    for (const v of zooVariants('effnetv2_dli14')) expect(() => validateArch(scaledArch(v, { width: 2 }))).not.toThrow();
  });

  const row = (r: Partial<StageRow>): StageRow => ({ ...ROW, ...r });
  const atLimit: [string, Partial<ArchSpec>, Partial<ArchSpec>][] = [
    ['stages', { stages: Array.from({ length: L.stages }, () => row({ repeats: 1 })) }, { stages: Array.from({ length: L.stages + 1 }, () => row({ repeats: 1 })) }],
    ['repeats', { stages: [row({ repeats: L.repeats })] }, { stages: [row({ repeats: L.repeats + 1 })] }],
    ['blocks', { stages: [...Array.from({ length: 4 }, () => row({ repeats: L.repeats }))] }, { stages: [...Array.from({ length: 4 }, () => row({ repeats: L.repeats })), row({ repeats: 1 })] }],
    ['outC', { stages: [row({ outC: L.channels })] }, { stages: [row({ outC: L.channels + 1 })] }],
    ['expand', { stages: [row({ expand: L.expand })] }, { stages: [row({ expand: L.expand + 1 })] }],
    ['stemC', { stemC: L.channels }, { stemC: L.channels + 1 }],
    ['headC', { headC: L.channels }, { headC: L.channels + 1 }],
    ['numClasses', { numClasses: L.numClasses }, { numClasses: L.numClasses + 1 }],
    ['resolution', { resolution: L.resolution }, { resolution: L.resolution + 1 }],
    ['bnEps', { bnEps: L.bnEps }, { bnEps: L.bnEps * 2 }],
    ['name', { name: 'n'.repeat(L.nameLength) }, { name: 'n'.repeat(L.nameLength + 1) }],
  ];
  test.each(atLimit)('%s: at the limit passes, one past it is a MODEL_SPEC error', (field, at, past) => {
    expect(() => customArch(B0, at)).not.toThrow();
    let e: unknown;
    try {
      customArch(B0, past);
    } catch (err) {
      e = err;
    }
    expect(isEffnetError(e, 'MODEL_SPEC'), `expected MODEL_SPEC, got ${String(e)}`).toBe(true);
    expect((e as Error).message).toMatch(field === 'blocks' ? /blocks in all/ : new RegExp(field));
  });
});
