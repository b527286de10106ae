/**
 * Hostile inputs as data: weights that are not regular files or lie about their size, malformed or escaping
 * TF.js manifests, decompression-bomb images, and requests the demo server must refuse. Every case asserts the
 * EffnetError code (or HTTP status) and a message fragment, then that the process is still healthy: memory
 * bounded, and a good model and image still load.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isEffnetError, type ErrorCode } from '../src/errors.js';
import { decodeImage } from '../src/image/decode.js';
import { getArch } from '../src/model/tables.js';
import { serializeSafetensors } from '../src/safetensors.js';
import { ensurePretrainedB0 } from '../src/weights/fetch.js';
import { resolveWeights } from '../src/weights/load.js';
import { readTfjsModel } from '../src/weights/tfjs-read.js';
import { serveStatic, type StaticServer } from '../tools/harness/index.js';
import { effnet } from './support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'effnet-hostile-'));
const B0 = getArch('efficientnet_b0');

/** A TF.js model folder holding `modelJson` (written as is when a string) and the named shard files. */
function tfjsDir(name: string, modelJson: unknown, shards: Record<string, Uint8Array> = {}): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'model.json'), typeof modelJson === 'string' ? modelJson : JSON.stringify(modelJson));
  for (const [f, bytes] of Object.entries(shards)) writeFileSync(join(d, f), bytes);
  return d;
}

/** A well-formed model.json with one float32 weight of `shape` in shard 'w.bin', with `edit` applied. */
function manifest(edit: (m: { modelTopology: { node: unknown[] }; weightsManifest: Record<string, unknown>[] }) => void = () => undefined, shape: unknown = [2]) {
  const m = { modelTopology: { node: [{ name: 'x', op: 'Placeholder' }] }, weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'w', shape, dtype: 'float32' }] }] as Record<string, unknown>[] };
  edit(m);
  return m;
}

/** A PNG chunk: length, type, data, CRC over type and data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** A valid-looking PNG whose header claims width×height RGB pixels: the decompression bomb. */
function pngClaiming(width: number, height: number): Uint8Array {
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8);
  // A zlib stream of a few bytes that would inflate (as a run of zeros) to the whole image.
  const idat = Uint8Array.from([0x78, 0x9c, 0xed, 0xc1, 0x01, 0x0d, 0x00, 0x00, 0x00, 0xc2]);
  const parts = [Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array())];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A JPEG that is only SOI, an APP0 and a baseline SOF0 claiming width×height. */
function jpegClaiming(width: number, height: number): Uint8Array {
  return Uint8Array.from([
    0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
    0xff, 0xc0, 0, 17, 8, height >> 8, height & 255, width >> 8, width & 255, 3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1,
  ]);
}

function smallPng(w: number, h: number): Uint8Array {
  const png = new PNG({ width: w, height: h });
  png.data.fill(200);
  return new Uint8Array(PNG.sync.write(png));
}

const goodSafetensors = () => serializeSafetensors({ a: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } });

interface ErrorCase {
  name: string;
  run: () => Promise<unknown>;
  code: ErrorCode;
  message: RegExp;
}

const weightCases: ErrorCase[] = [
  { name: '/dev/zero as a state dict', run: () => resolveWeights(B0, '/dev/zero'), code: 'IO', message: /\/dev\/zero: not a regular file/ },
  {
    name: 'a FIFO as a state dict (would hang forever waiting for a writer)',
    run: async () => {
      const fifo = join(dir, 'weights.fifo');
      execFileSync('mkfifo', [fifo]);
      return resolveWeights(B0, fifo, { format: 'torchvision' });
    },
    code: 'IO',
    message: /weights\.fifo: not a regular file/,
  },
  {
    name: 'a directory where model.json should be a file',
    run: async () => {
      mkdirSync(join(dir, 'nested', 'model.json'), { recursive: true });
      return readTfjsModel(join(dir, 'nested'));
    },
    code: 'IO',
    message: /model\.json: is a directory/,
  },
  {
    name: 'a safetensors file longer than its header says',
    run: async () => {
      const f = join(dir, 'long.safetensors');
      const good = goodSafetensors();
      writeFileSync(f, Buffer.concat([good, new Uint8Array(1000)]));
      return resolveWeights(B0, f);
    },
    code: 'IO',
    message: new RegExp(`is ${goodSafetensors().length + 1000} bytes but its safetensors header describes ${goodSafetensors().length} bytes`),
  },
  { name: 'model.json is null', run: () => readTfjsModel(tfjsDir('null', 'null')), code: 'WEIGHTS', message: /'\(top level\)' is null/ },
  { name: 'model.json is an array', run: () => readTfjsModel(tfjsDir('array', '[]')), code: 'WEIGHTS', message: /'\(top level\)' is an array/ },
  { name: 'model.json is a number', run: () => readTfjsModel(tfjsDir('number', '42')), code: 'WEIGHTS', message: /'\(top level\)' is number/ },
  { name: 'model.json is not JSON', run: () => readTfjsModel(tfjsDir('notjson', '{"weightsManifest": [')), code: 'WEIGHTS', message: /not valid JSON/ },
  {
    name: 'weightsManifest is an object',
    run: () => readTfjsModel(tfjsDir('manifest-object', manifest((m) => ((m as Record<string, unknown>).weightsManifest = { paths: [] })))),
    code: 'WEIGHTS',
    message: /'weightsManifest' is object, expected an array/,
  },
  { name: 'weightsManifest is empty', run: () => readTfjsModel(tfjsDir('manifest-empty', manifest((m) => (m.weightsManifest = [])))), code: 'WEIGHTS', message: /'weightsManifest' is empty/ },
  { name: 'modelTopology missing', run: () => readTfjsModel(tfjsDir('no-topology', manifest((m) => delete (m as Partial<typeof m>).modelTopology))), code: 'WEIGHTS', message: /'modelTopology' is undefined/ },
  { name: 'a graph node that is not an object', run: () => readTfjsModel(tfjsDir('node-null', manifest((m) => m.modelTopology.node.push(null)))), code: 'WEIGHTS', message: /'modelTopology\.node\[1\]' is null/ },
  { name: 'a negative shape', run: () => readTfjsModel(tfjsDir('shape-negative', manifest(undefined, [-4]))), code: 'WEIGHTS', message: /'weightsManifest\[0\]\.weights\[0\]\.shape\[0\]' of weight 'w' is -4/ },
  { name: 'a missing shape', run: () => readTfjsModel(tfjsDir('shape-missing', manifest((m) => delete (m.weightsManifest[0]!.weights as Record<string, unknown>[])[0]!.shape))), code: 'WEIGHTS', message: /'weightsManifest\[0\]\.weights\[0\]\.shape' is undefined/ },
  { name: 'a fractional shape', run: () => readTfjsModel(tfjsDir('shape-fraction', manifest(undefined, [1.5]))), code: 'WEIGHTS', message: /shape\[0\]' of weight 'w' is 1\.5/ },
  { name: 'a shape as a string', run: () => readTfjsModel(tfjsDir('shape-string', manifest(undefined, ['2']))), code: 'WEIGHTS', message: /shape\[0\]' of weight 'w' is "2"/ },
  { name: 'a shape too large to address', run: () => readTfjsModel(tfjsDir('shape-huge', manifest(undefined, [2 ** 30, 2 ** 30]))), code: 'WEIGHTS', message: /more elements than can be addressed/ },
  { name: 'a shard path that is a number', run: () => readTfjsModel(tfjsDir('path-number', manifest((m) => (m.weightsManifest[0]!.paths = [7])))), code: 'WEIGHTS', message: /'weightsManifest\[0\]\.paths\[0\]' is number/ },
  { name: 'paths not an array', run: () => readTfjsModel(tfjsDir('paths-string', manifest((m) => (m.weightsManifest[0]!.paths = 'w.bin')))), code: 'WEIGHTS', message: /'weightsManifest\[0\]\.paths' is string/ },
  {
    name: "a shard path climbing out with '../' (reads /etc/passwd today)",
    run: () => readTfjsModel(tfjsDir('escape-dotdot', manifest((m) => (m.weightsManifest[0]!.paths = ['../../../../../../etc/passwd'])))),
    code: 'WEIGHTS',
    message: /'\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd' is not a path inside the model's folder/,
  },
  { name: 'an absolute shard path', run: () => readTfjsModel(tfjsDir('escape-absolute', manifest((m) => (m.weightsManifest[0]!.paths = ['/dev/zero'])))), code: 'WEIGHTS', message: /'\/dev\/zero' is not a path inside/ },
  { name: 'a shard path that is a URL', run: () => readTfjsModel(tfjsDir('escape-url', manifest((m) => (m.weightsManifest[0]!.paths = ['file:///etc/passwd'])))), code: 'WEIGHTS', message: /'file:\/\/\/etc\/passwd' is not a path inside/ },
  { name: 'a percent-encoded ../', run: () => readTfjsModel(tfjsDir('escape-pct', manifest((m) => (m.weightsManifest[0]!.paths = ['%2e%2e/x.bin'])))), code: 'WEIGHTS', message: /'%2e%2e\/x\.bin' is not a path inside/ },
  {
    name: 'a shard that is a symlink to /dev/zero',
    run: async () => {
      const d = tfjsDir('shard-devzero', manifest());
      symlinkSync('/dev/zero', join(d, 'w.bin'));
      return readTfjsModel(d);
    },
    code: 'IO',
    message: /w\.bin: not a regular file/,
  },
  {
    name: 'a shard longer than the manifest describes',
    run: () => readTfjsModel(tfjsDir('shard-long', manifest(), { 'w.bin': new Uint8Array(1 << 20) })),
    code: 'IO',
    message: /w\.bin: it is 1048576 bytes but the manifest describes 8 bytes of weights in all, of which the shards from here on may hold 8 bytes/,
  },
  { name: 'a shard shorter than the manifest describes', run: () => readTfjsModel(tfjsDir('shard-short', manifest(undefined, [4]), { 'w.bin': new Uint8Array(8) })).then((m) => resolveWeights(B0, { modelJson: m.modelJson, weightData: m.weightData })), code: 'WEIGHTS', message: /the shards hold 8 bytes/ },
  {
    name: 'a manifest claiming 2^52 elements over an 8-byte shard',
    run: () => readTfjsModel(tfjsDir('shape-lying', manifest(undefined, [2 ** 26, 2 ** 26]), { 'w.bin': new Uint8Array(8) })).then((m) => resolveWeights(B0, m)),
    code: 'WEIGHTS',
    message: /weight 'w' needs bytes 0\.\.18014398509481984 but the shards hold 8 bytes/,
  },
  { name: 'a missing shard', run: () => readTfjsModel(tfjsDir('shard-missing', manifest())), code: 'IO', message: /w\.bin: no such file/ },
  {
    name: 'the TF.js B0 loaded as efficientnet_v2_s names both structures',
    run: async () => resolveWeights(getArch('efficientnet_v2_s'), (await ensurePretrainedB0()).modelDir),
    code: 'WEIGHTS',
    message: /the graph has a different block structure than 'efficientnet_v2_s'; it walks as 'efficientnet_b0'/,
  },
];

const imageCases: ErrorCase[] = [
  { name: 'a 69-byte PNG claiming 30000×30000 pixels', run: async () => decodeImage(pngClaiming(30000, 30000), 'bomb.png'), code: 'INPUT', message: /bomb\.png: the header says 30000×30000 pixels \(900\.0 MP\), over the cap of 120\.0 MP/ },
  { name: 'a PNG claiming 4 billion pixels in one row', run: async () => decodeImage(pngClaiming(0xffffffff, 1), 'row.png'), code: 'INPUT', message: /over the cap/ },
  { name: 'a JPEG header claiming 65535×65535 pixels', run: async () => decodeImage(jpegClaiming(65535, 65535), 'bomb.jpg'), code: 'INPUT', message: /bomb\.jpg: the header says 65535×65535 pixels \(4294\.8 MP\)/ },
  { name: 'a small PNG over a configured cap', run: async () => decodeImage(smallPng(4, 4), 'small.png', { maxPixels: 15 }), code: 'INPUT', message: /4×4 pixels \(0\.0 MP\), over the cap/ },
  { name: 'a PNG of zero width', run: async () => decodeImage(pngClaiming(0, 10), 'empty.png'), code: 'INPUT', message: /empty\.png: the image is empty \(0×10 pixels\)/ },
  { name: 'a JPEG of zero height', run: async () => decodeImage(jpegClaiming(10, 0), 'empty.jpg'), code: 'INPUT', message: /empty\.jpg: the image is empty \(10×0 pixels\)/ },
  { name: 'a nonsense pixel cap', run: async () => decodeImage(smallPng(1, 1), 'x.png', { maxPixels: -1 }), code: 'INPUT', message: /maxPixels must be a positive number/ },
];

/** Memory stays bounded, and a good model and a good image still load after the hostile one. */
async function expectHealthy(): Promise<void> {
  expect(process.memoryUsage().rss).toBeLessThan(2 * 2 ** 30);
  const d = tfjsDir('good', manifest(), { 'w.bin': new Uint8Array(new Float32Array([1, 2]).buffer) });
  expect((await readTfjsModel(d)).weightData.byteLength).toBe(8);
  expect((await decodeImage(smallPng(3, 2), 'good.png')).width).toBe(3);
}

describe('hostile weights and images', () => {
  test.each([...weightCases, ...imageCases].map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const e = await c.run().then(() => undefined, (err: unknown) => err);
    expect(isEffnetError(e, c.code), `expected EffnetError('${c.code}'), got ${String(e)}`).toBe(true);
    expect((e as Error).message).toMatch(c.message);
    await expectHealthy();
  }, 60_000);
});

describe('hostile weights over HTTP', () => {
  let server: StaticServer;
  const files: Record<string, Uint8Array> = {
    '/m/model.json': new TextEncoder().encode(JSON.stringify(manifest((m) => (m.weightsManifest[0]!.paths = ['%2e%2e/secret.bin'])))),
    '/secret.bin': new Uint8Array(8),
    '/long.safetensors': new Uint8Array([...goodSafetensors(), ...new Uint8Array(1 << 20)]),
  };
  beforeAll(async () => {
    server = await serveStatic({}, async (p) => files[p]);
  });
  afterAll(() => server?.close());

  const cases: ErrorCase[] = [
    { name: 'a URL manifest escaping its base', run: () => readTfjsModel(`${server.url}m/model.json`), code: 'WEIGHTS', message: /'%2e%2e\/secret\.bin' is not a path inside/ },
    { name: 'a URL safetensors body longer than its header', run: () => resolveWeights(B0, `${server.url}long.safetensors`), code: 'IO', message: /longer than the \d+ bytes its safetensors header describes/ },
  ];
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const e = await c.run().then(() => undefined, (err: unknown) => err);
    expect(isEffnetError(e, c.code), `expected EffnetError('${c.code}'), got ${String(e)}`).toBe(true);
    expect((e as Error).message).toMatch(c.message);
    await expectHealthy();
  });
});

describe('hostile requests to the static (demo) server', () => {
  let server: StaticServer;
  let port: number;
  beforeAll(async () => {
    const root = join(dir, 'www');
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'index.html'), '<p>hi</p>');
    writeFileSync(join(dir, 'outside.txt'), 'secret');
    server = await serveStatic({ '': root }, async (p) => (p === '/big.bin' ? { file: join(dir, 'big.bin') } : undefined));
    writeFileSync(join(dir, 'big.bin'), new Uint8Array(3 << 20).fill(7));
    port = Number(new URL(server.url).port);
  });
  afterAll(() => server?.close());

  /** One raw request (node:http, so the Host header is ours to set). */
  const send = (method: string, path: string, host?: string) =>
    new Promise<{ status: number; headers: Record<string, unknown>; body: string; bytes: number }>((ok, fail) => {
      const req = request({ host: '127.0.0.1', port, method, path, headers: { host: host ?? `127.0.0.1:${port}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          ok({ status: res.statusCode!, headers: res.headers, body: body.subarray(0, 100).toString(), bytes: body.length });
        });
      });
      req.on('error', fail);
      req.end();
    });

  const cases: { name: string; method: string; path: string; host?: (port: number) => string; status: number; body: RegExp; allow?: string }[] = [
    ...['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE'].map((method) => ({ name: `${method} is refused`, method, path: '/index.html', status: 405, body: /method not allowed/, allow: 'GET, HEAD' })),
    { name: 'a rebound DNS name in Host', method: 'GET', path: '/index.html', host: (p) => `attacker.example:${p}`, status: 403, body: /forbidden host/ },
    { name: 'the right name on another port', method: 'GET', path: '/index.html', host: (p) => `127.0.0.1:${p + 1}`, status: 403, body: /forbidden host/ },
    { name: 'localhost without the port', method: 'GET', path: '/index.html', host: () => 'localhost', status: 403, body: /forbidden host/ },
    { name: 'a path climbing out of the root', method: 'GET', path: '/../outside.txt', status: 404, body: /not found/ },
    { name: 'an encoded path climbing out of the root', method: 'GET', path: '/%2e%2e/outside.txt', status: 404, body: /not found/ },
    { name: 'GET through localhost:PORT', method: 'GET', path: '/index.html', host: (p) => `localhost:${p}`, status: 200, body: /<p>hi<\/p>/ },
    { name: 'HEAD answers headers only', method: 'HEAD', path: '/index.html', status: 200, body: /^$/ },
  ];
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const r = await send(c.method, c.path, c.host?.(port));
    expect(r.status).toBe(c.status);
    if (c.method !== 'TRACE' || c.status !== 405) expect(r.body).toMatch(c.body);
    if (c.allow) expect(r.headers.allow).toBe(c.allow);
    const ok = await send('GET', '/index.html');
    expect(ok.status).toBe(200);
  });

  test('a large file is streamed with its length, and HEAD sends no body', async () => {
    const before = process.memoryUsage().arrayBuffers;
    const r = await send('GET', '/big.bin');
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(3 << 20));
    expect(r.bytes).toBe(3 << 20);
    const head = await send('HEAD', '/big.bin');
    expect(head.headers['content-length']).toBe(String(3 << 20));
    expect(head.bytes).toBe(0);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
  });
});

describe('hostile inputs through the CLI (the built dist/effnet.js)', () => {
  const cases: { name: string; args: () => Promise<string[]>; code: number; stderr?: RegExp; json?: (out: { image: string; top?: { index: number }[]; error?: string }[]) => void }[] = [
    {
      name: '--weights /dev/zero fails at once with an IO error',
      args: async () => ['classify', '--weights', '/dev/zero'],
      code: 1,
      stderr: /\/dev\/zero: not a regular file/,
    },
    {
      name: '--max-mp must be positive',
      args: async () => ['classify', '--max-mp', '0'],
      code: 1,
      stderr: /--max-mp must be a positive number of megapixels, got 0/,
    },
    {
      name: 'classify --json: a decompression bomb gets its own error, the good image keeps its result',
      args: async () => {
        const bomb = join(dir, 'bomb.png');
        writeFileSync(bomb, pngClaiming(30000, 30000));
        const { samples } = await ensurePretrainedB0();
        return ['classify', samples.find((s) => s.endsWith('car.jpg'))!, bomb, '--json', '--top', '1'];
      },
      code: 1,
      json: (out) => {
        expect(out).toHaveLength(2);
        expect(out.find((r) => r.image.endsWith('car.jpg'))!.top![0]!.index).toBe(817);
        expect(out.find((r) => r.image.endsWith('bomb.png'))!.error).toMatch(/30000×30000 pixels \(900\.0 MP\), over the cap of 120\.0 MP/);
      },
    },
  ];
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const r = await effnet(...(await c.args()));
    expect(r.code, r.stderr).toBe(c.code);
    if (c.stderr) expect(r.stderr).toMatch(c.stderr);
    if (c.json) c.json(JSON.parse(r.stdout));
    expect(process.memoryUsage().rss).toBeLessThan(2 * 2 ** 30);
  }, 300_000);
});
