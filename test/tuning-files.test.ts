/**
 * Tuning files as data: every way a file can be wrong — keys that are not a kernel's tile, values out of range,
 * tiles that look legal but break a kernel's `Requires:` line for that launch, keys that describe no launch,
 * prototype keys, another adapter's entries — and every way reading one can go wrong (a 200 MB file, a FIFO, a
 * file that is not a tuning file, a URL that never answers or never ends, a redirect elsewhere, an abort). Each
 * case ends in a typed error naming the entry and key, or in a file the model may apply; none needs a GPU.
 * (test/self-test.node.test.ts runs files through loadModel and compares logits.)
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, ftruncateSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isEffnetError, type ErrorCode } from '../src/errors.js';
import type { AdapterReport } from '../src/gpu.js';
import { dwconvLaunch } from '../src/kernels/dwconv.js';
import { fusedConvLaunch } from '../src/kernels/fused_conv.js';
import type { Launch } from '../src/kernels/launch.js';
import { pointwiseLaunch } from '../src/kernels/pointwise.js';
import { denseStrides, stemLaunch } from '../src/kernels/stem.js';
import { tileSpace } from '../src/kernels/tile-space.js';
import { applyTuning, parseTuningKey, tuningKey } from '../src/kernels/tuning.js';
import { adapterKey, choicesFor, engineStamp, parseTuningFile, readTuningCache, readTuningFile, TUNING_FORMAT, TUNING_MAX_BYTES, writeTuningCache } from '../src/tuning/file.js';

const dir = mkdtempSync(join(tmpdir(), 'effnet-tuning-files-'));
const adapter = { host: 'node', vendor: 'v', architecture: 'a', device: 'd', description: '', isFallback: false } as AdapterReport;
const GPU = { isFallback: false } as const;

// Real launches of the planners, one per tunable kernel: their keys are what a tuning file names.
const projection = pointwiseLaunch({ N: 1, H: 14, W: 14, inC: 672, outC: 112, act: 'none', residual: true, seScale: true });
// At res 64 B0's last projection runs at 2×2: H·W = 4 rows per image.
const smallProjection = pointwiseLaunch({ N: 4, H: 2, W: 2, inC: 1152, outC: 320, act: 'none', residual: false, seScale: true });
const tiled = pointwiseLaunch({ N: 1, H: 56, W: 56, inC: 24, outC: 144, act: 'silu', residual: false, seScale: false }, GPU);
const dw = dwconvLaunch({ N: 1, C: 96, H: 112, W: 112, k: 3, s: 2, padding: 'symmetric', squeeze: true });
const stem = stemLaunch({ N: 1, outC: 32, H: 224, W: 224, padding: 'symmetric', strides: denseStrides('nchw', 224, 224) });
const fused = fusedConvLaunch({ N: 1, inC: 24, outC: 48, H: 96, W: 96, k: 3, s: 2, padding: 'symmetric', act: 'silu', residual: false });

const tileOf = (l: Launch) => Object.fromEntries(tileSpace(l.kernel)!.keys.map((k) => [k, l.overrides[k]!]));
const entry = (l: Launch, tile: Record<string, unknown>, over: Record<string, unknown> = {}) => ({ kernel: l.kernel, key: tuningKey(l), tile, ms: 1, plannedMs: 2, layers: 1, tried: 3, ...over });
const file = (...choices: unknown[]) => ({ format: TUNING_FORMAT, adapters: { [adapterKey(adapter)]: { adapter, updated: '', choices } } });

type Case = { name: string; file: unknown; error?: RegExp };
const CASES: Case[] = [
  // Accepted: legal tiles other than the planned ones, for every tunable kernel.
  { name: 'pointwise: another legal register tile', file: file(entry(projection, { TM: 2, TN: 1, WG: 64 })) },
  { name: 'pointwise_tiled: another legal workgroup tile', file: file(entry(tiled, { WG_M: 8, WG_N: 8, TM: 2, TN: 2, KT: 4, KS: 1 })) },
  { name: 'dwconv: another workgroup size', file: file(entry(dw, { WG: 128 })) },
  { name: 'stem and fused_conv: legal tiles', file: file(entry(stem, { TM: 7, TN: 4, WG: 32 }), entry(fused, { TM: 16, TN: 3, WG: 64 })) },
  // Wrong keys: only the tile of the kernel, all of it.
  { name: 'a fusion flag in a tile', file: file(entry(projection, { ...tileOf(projection), ACT: 1 })), error: /'ACT' is not a tile override of pointwise \(its tile: TM, TN, WG\)/ },
  { name: "dwconv's kernel size", file: file(entry(dw, { WG: 32, K: 5 })), error: /'K' is not a tile override of dwconv/ },
  { name: "dwconv's stride and strip width", file: file(entry(dw, { WG: 32, S: 2, TW: 4 })), error: /'S', 'TW' are not tile overrides of dwconv/ },
  { name: 'the GEMM workgroup size (derived in the WGSL)', file: file(entry(tiled, { ...tileOf(tiled), GEMM_WG: 32 })), error: /'GEMM_WG' is not a tile override/ },
  { name: 'a partial tile', file: file(entry(projection, { TM: 2 })), error: /must give every key of pointwise's tile \(TM, TN, WG\); missing TN, WG/ },
  { name: 'a __proto__ key', file: file(entry(projection, JSON.parse('{"TM":2,"TN":1,"WG":64,"__proto__":{"TM":16}}'))), error: /'__proto__' is not a tile override/ },
  { name: 'a constructor key', file: file(entry(dw, { WG: 64, constructor: 1 })), error: /'constructor' is not a tile override/ },
  // Wrong ranges.
  { name: 'pointwise TM 17', file: file(entry(projection, { TM: 17, TN: 1, WG: 16 })), error: /TM = 17 is outside 1\.\.16/ },
  { name: 'pointwise TN 9', file: file(entry(projection, { TM: 4, TN: 9, WG: 16 })), error: /TN = 9 is outside 1\.\.8/ },
  { name: 'stem TM 4096', file: file(entry(stem, { TM: 4096, TN: 2, WG: 64 })), error: /TM = 4096 is outside 1\.\.16/ },
  { name: 'a zero', file: file(entry(dw, { WG: 0 })), error: /WG = 0 is outside 1\.\.256/ },
  { name: 'a fraction', file: file(entry(dw, { WG: 2.5 })), error: /WG = 2\.5 is outside/ },
  { name: 'a huge number', file: file(entry(dw, { WG: 1e308 })), error: /WG = 1e\+308 is outside/ },
  { name: 'a string', file: file(entry(dw, { WG: '64' })), error: /WG = "64" is outside/ },
  { name: 'null', file: file(entry(dw, { WG: null })), error: /WG = null is outside/ },
  { name: 'a workgroup past every device', file: file(entry(dw, { WG: 1024 })), error: /WG = 1024 is outside 1\.\.256/ },
  // Legal-looking, wrong for the launch.
  {
    name: 'an SE-gated projection at TM 16 where an image has 4 rows (the tile would mix images)',
    file: file(entry(smallProjection, { TM: 16, TN: 2, WG: 16 })),
    error: /TM = 16, HW = 4 breaks 'SE_SCALE == 0 \|\| TM <= HW'/,
  },
  { name: 'a GEMM tile past workgroup memory', file: file(entry(tiled, { WG_M: 64, WG_N: 4, TM: 4, TN: 4, KT: 8, KS: 1 })), error: /breaks 'WG_M \* WG_N \* KS <= 256 && WG_M \* TM \* KT \* KS <= 256/ },
  { name: 'split K with a register tile (the slices join one accumulator)', file: file(entry(tiled, { WG_M: 4, WG_N: 4, TM: 2, TN: 1, KT: 2, KS: 4 })), error: /breaks '.*\(KS == 1 \|\| TM \* TN == 1\)'/ },
  { name: 'a GEMM workgroup of 512', file: file(entry(tiled, { WG_M: 32, WG_N: 16, TM: 1, TN: 1, KT: 1, KS: 1 })), error: /breaks 'WG_M \* WG_N \* KS <= 256/ },
  { name: 'conv TN 3 past the packed output channels', file: file(entry({ ...fused, uniforms: { ...fused.uniforms, Cout4: 7 } }, { TM: 4, TN: 3, WG: 64 })), error: /Cout4 = 7, TN = 3 breaks 'ceil\(Cout4 \/ TN\) \* TN <= ceil\(Cout4 \/ 4\) \* 4'/ },
  // Keys that describe no launch.
  { name: 'an unknown kernel', file: file({ ...entry(dw, { WG: 64 }), kernel: 'nope', key: 'nope|a=1|' }), error: /no kernel named "nope"/ },
  { name: 'a kernel that is not tunable', file: file({ kernel: 'se_excite', key: 'se_excite|C=16,C4=4,HW=1,N=1,P=1,seC4=1|', tile: { WG: 64 } }), error: /kernel 'se_excite' is not tunable/ },
  { name: "a key of another kernel", file: file({ ...entry(dw, { WG: 64 }), kernel: 'pointwise' }), error: /the key does not belong to kernel "pointwise"/ },
  { name: 'a uniform the kernel lacks', file: file({ ...entry(dw, { WG: 64 }), key: tuningKey({ ...dw, uniforms: { ...dw.uniforms, extra: 3 } }) }), error: /its uniforms are not dwconv's \(unknown "extra"\)/ },
  { name: 'a uniform missing', file: file({ ...entry(dw, { WG: 64 }), key: tuningKey({ ...dw, uniforms: Object.fromEntries(Object.entries(dw.uniforms).filter(([k]) => k !== 'rows')) }) }), error: /its uniforms are not dwconv's \(missing rows\)/ },
  { name: 'an override the kernel lacks', file: file({ ...entry(projection, tileOf(projection)), key: tuningKey({ ...projection, overrides: { ...projection.overrides, K: 3 } }) }), error: /it fixes "K", which pointwise does not take/ },
  { name: 'fields out of order', file: file({ ...entry(dw, { WG: 64 }), key: `dwconv|${Object.keys(dw.uniforms).reverse().map((k) => `${k}=${String((dw.uniforms as Record<string, unknown>)[k])}`).join(',')}|K=3,S=2,SQUEEZE=1,TW=8` }), error: /not in the canonical form/ },
  { name: 'a key that is not a key', file: file({ kernel: 'dwconv', key: 'dwconv|||', tile: { WG: 64 } }), error: /not of the form 'kernel\|uniforms\|overrides'/ },
  { name: 'two choices for one key', file: file(entry(dw, { WG: 64 }), entry(dw, { WG: 32 })), error: /a second choice for the same key/ },
  // The file's shape.
  { name: 'another format', file: { format: 'effnet-tuning/0', adapters: {} }, error: /format must be 'effnet-tuning\/1'/ },
  { name: 'adapters not an object', file: { format: TUNING_FORMAT, adapters: [] }, error: /'adapters' must be an object/ },
  { name: 'choices not an array', file: { format: TUNING_FORMAT, adapters: { x: { choices: {} } } }, error: /adapters\["x"\]\.choices must be an array/ },
  { name: 'a tile that is not an object', file: file(entry(dw, [64] as never)), error: /'tile' must be an object/ },
];

describe('tuning files as data: a typed error naming the entry and key, or a file the kernels can run', () => {
  for (const c of CASES) {
    test(c.name, () => {
      let err: unknown;
      try {
        parseTuningFile(JSON.parse(JSON.stringify(c.file)), 'f.json');
      } catch (e) {
        err = e;
      }
      if (!c.error) {
        expect(err).toBeUndefined();
        return;
      }
      expect(isEffnetError(err, 'TUNING'), String(err)).toBe(true);
      const msg = (err as Error).message;
      expect(msg).toMatch(c.error);
      // It names the file and, for a choice, which one.
      expect(msg).toMatch(/^f\.json: /);
      if (msg.includes('choices[')) expect(msg).toMatch(/adapters\[".*"\]\.choices\[\d+\]/);
    });
  }

  test('every planned tile is legal, and a parsed key is the launch it came from', () => {
    for (const l of [projection, smallProjection, tiled, dw, stem, fused]) {
      const k = parseTuningKey(tuningKey(l));
      expect(typeof k).toBe('object');
      if (typeof k === 'string') continue;
      expect(k.kernel).toBe(l.kernel);
      expect(tuningKey({ kernel: k.kernel, uniforms: k.uniforms, overrides: k.fixed })).toBe(tuningKey(l));
      expect(parseTuningFile(file(entry(l, tileOf(l))))).toBeDefined();
    }
  });

  test("entries of other adapters are checked too but never taken; another target's keys match no launch", () => {
    const other = { ...adapter, device: 'another' };
    const f = parseTuningFile({ format: TUNING_FORMAT, adapters: { [adapterKey(other)]: { adapter: other, updated: '', choices: [entry(dw, { WG: 128 })] } } });
    expect(choicesFor(f, adapter)).toBeUndefined();
    // A GPU-target key in this adapter's entry: valid, but the SwiftShader schedule has no such launch.
    const mine = choicesFor(parseTuningFile(file(entry(tiled, tileOf(tiled)))), adapter)!;
    const swLaunch = pointwiseLaunch({ N: 1, H: 56, W: 56, inC: 24, outC: 144, act: 'silu', residual: false, seScale: false });
    expect(applyTuning(swLaunch, { isFallback: true, tuning: mine })).toBe(swLaunch);
  });

  test('only the tile keys of a choice are kept, whatever else an entry holds', () => {
    const f = parseTuningFile(file({ ...entry(dw, { WG: 128 }), extra: { TM: 99 }, ms: 'fast' }));
    const c = f.adapters[adapterKey(adapter)]!.choices[0]!;
    expect(c.tile).toEqual({ WG: 128 });
    expect(c.ms).toBe(0);
  });

  test('applyTuning refuses a tile that did not come through a file check', () => {
    expect(() => applyTuning(projection, { isFallback: true, tuning: new Map([[tuningKey(projection), { TM: 99, TN: 1, WG: 16 }]]) })).toThrow(/TUNING|outside/);
  });
});

describe('reading tuning files: bounded in size and time, never echoing what is not a tuning file', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/silent') return; // accepts, never answers
      if (req.url === '/endless') {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(1 << 16, 0x20);
        const push = () => {
          while (res.write(chunk));
          res.once('drain', push);
        };
        res.on('close', () => res.removeAllListeners('drain'));
        return push();
      }
      if (req.url === '/huge') {
        res.writeHead(200, { 'content-length': String(200 << 20) });
        return res.end();
      }
      if (req.url === '/redirect') {
        res.writeHead(302, { location: base.replace('127.0.0.1', 'localhost') + '/ok' });
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(file(entry(dw, { WG: 128 }))));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const a = server.address();
    base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const expectRefusal = async (where: string, code: ErrorCode, message: RegExp, opts: Parameters<typeof readTuningFile>[1] = {}, maxMs = 3000) => {
    const t0 = performance.now();
    const heap0 = process.memoryUsage().rss;
    let err: unknown;
    try {
      await readTuningFile(where, opts);
    } catch (e) {
      err = e;
    }
    expect(isEffnetError(err, code), String(err)).toBe(true);
    expect((err as Error).message).toMatch(message);
    expect(performance.now() - t0).toBeLessThan(maxMs);
    // Never more than the cap (and its doubling buffer) in memory.
    expect(process.memoryUsage().rss - heap0).toBeLessThan(64 << 20);
    return (err as Error).message;
  };

  test('a 200 MB file is refused from its size, before reading', async () => {
    const p = join(dir, 'huge.json');
    const fd = openSync(p, 'w');
    ftruncateSync(fd, 200 << 20);
    closeSync(fd);
    await expectRefusal(p, 'IO', new RegExp(`200\\.0 MiB, more than the ${(TUNING_MAX_BYTES / (1 << 20)).toFixed(1)} MiB a tuning file may have`), {}, 500);
  });

  test('a FIFO, a directory and a missing file are IO errors at once', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await expectRefusal(fifo, 'IO', /not a regular file \(a device, FIFO or socket\)/, {}, 500);
    mkdirSync(join(dir, 'd'));
    await expectRefusal(join(dir, 'd'), 'IO', /is a directory/, {}, 500);
    await expectRefusal(join(dir, 'missing.json'), 'IO', /no such file/, {}, 500);
  });

  test('a file that is not a tuning file: refused without quoting it', async () => {
    const msg = await expectRefusal('/etc/passwd', 'TUNING', /\/etc\/passwd: not a tuning file \(not valid JSON( at byte \d+)?\)/);
    expect(msg).not.toMatch(/root|bin|nologin/);
    const bin = join(dir, 'bin.json');
    writeFileSync(bin, Buffer.from([0xff, 0xfe, 0x00, 0x80]));
    await expectRefusal(bin, 'TUNING', /not a tuning file \(not UTF-8 text\)/);
  });

  test('a URL that never answers times out; one that never ends stops at the cap; a declared 200 MB is refused at once', async () => {
    await expectRefusal(`${base}/silent`, 'IO', /no data for 0\.5 s \(timeoutMs\)/, { timeoutMs: 500 }, 3000);
    await expectRefusal(`${base}/endless`, 'IO', /longer than the 4\.0 MiB a tuning file may have \(stopped reading\)/, {}, 5000);
    await expectRefusal(`${base}/huge`, 'IO', /200\.0 MiB, more than the 4\.0 MiB/, {}, 2000);
  });

  test('a redirect to another origin is not followed; an abort is ABORTED; a good URL reads', async () => {
    await expectRefusal(`${base}/redirect`, 'IO', /redirects to another origin \(http:\/\/localhost:\d+\)/);
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 200);
    await expectRefusal(`${base}/silent`, 'ABORTED', /reading tuning from .* was aborted/, { signal: ctl.signal }, 2000);
    const f = await readTuningFile(`${base}/ok`);
    expect(choicesFor(f, adapter)!.get(tuningKey(dw))).toEqual({ WG: 128 });
  });
});

// Node's tuning cache is data the engine wrote: a file placed there by anything else, edited, or written with
// other kernels is ignored with a warning, never applied (it would change every later model with no option).
describe("Node's tuning cache", () => {
  const choice = { kernel: dw.kernel, key: tuningKey(dw), tile: { WG: 128 }, ms: 1, plannedMs: 2, layers: 1, tried: 3 };
  const cacheDir = join(dir, 'cache');
  const saved = process.env.EFFNET_TUNING_DIR;
  beforeAll(() => {
    process.env.EFFNET_TUNING_DIR = cacheDir;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.EFFNET_TUNING_DIR;
    else process.env.EFFNET_TUNING_DIR = saved;
  });
  const read = async () => {
    const warnings: string[] = [];
    const f = await readTuningCache(warnings);
    return { choices: f && choicesFor(f, adapter), warnings };
  };

  test('what effnet tune writes reads back, stamped with the kernels and a checksum', async () => {
    const path = await writeTuningCache(adapter, [choice]);
    expect(path).toBe(join(cacheDir, 'tuning.json'));
    const written = JSON.parse(readFileSync(path, 'utf8'));
    expect(written.engine).toBe(await engineStamp());
    expect(written.checksum).toMatch(/^[0-9a-f]{64}$/);
    const { choices, warnings } = await read();
    expect(warnings).toEqual([]);
    expect(choices!.get(tuningKey(dw))).toEqual({ WG: 128 });
  });

  test('a valid tuning file copied in by hand, an edited cache and one from other kernels are all ignored', async () => {
    const path = await writeTuningCache(adapter, [choice]);
    const good = JSON.parse(readFileSync(path, 'utf8'));
    writeFileSync(path, JSON.stringify(file(choice)));
    let r = await read();
    expect(r.choices).toBeUndefined();
    expect(r.warnings).toEqual([expect.stringMatching(/written by another build of the kernels \(undefined, this one kernels-[0-9a-f]{16}\): the tuning cache is ignored$/)]);
    // A legal tile, but not the one measured: the checksum catches the edit.
    const edited = structuredClone(good);
    edited.adapters[adapterKey(adapter)].choices[0].tile.WG = 32;
    writeFileSync(path, JSON.stringify(edited));
    r = await read();
    expect(r.choices).toBeUndefined();
    expect(r.warnings).toEqual([expect.stringMatching(/its checksum does not match its entries \(edited, or not written by effnet\): the tuning cache is ignored$/)]);
    writeFileSync(path, JSON.stringify({ ...good, engine: 'kernels-0000000000000000' }));
    r = await read();
    expect(r.choices).toBeUndefined();
    expect(r.warnings[0]).toMatch(/written by another build of the kernels \("kernels-0000000000000000", this one kernels-/);
    // Not JSON at all: ignored without quoting it.
    writeFileSync(path, 'root:x:0:0:root:/root:/bin/bash\n');
    r = await read();
    expect(r.choices).toBeUndefined();
    expect(r.warnings.join('\n')).not.toMatch(/root/);
  });
});
