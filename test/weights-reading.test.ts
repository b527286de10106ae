/**
 * How weights are read: a state dict's format is told once per file (naming and architecture inference share
 * it), the size a safetensors header declares is read off its head by the safetensors parser itself, and weights
 * URLs follow the one reader's rules (inactivity timeout from `WeightOptions.timeoutMs`, no redirect to another
 * origin) for state dicts and TF.js models alike.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { isEffnetError, type ErrorCode } from '../src/errors.js';
import { getArch } from '../src/model/tables.js';
import { safetensorsFileSize, serializeSafetensors } from '../src/safetensors.js';
import { stateDictCap, stateDictFormat } from '../src/weights/formats.js';
import { inferArch } from '../src/weights/infer.js';
import { resolveWeights } from '../src/weights/load.js';
import { parsePytorchCheckpoint } from '../src/weights/pytorch.js';
import { readTfjsModel } from '../src/weights/tfjs-read.js';

vi.mock('../src/weights/formats.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/weights/formats.js')>();
  return { ...real, stateDictFormat: vi.fn(real.stateDictFormat) };
});

const seeds = fileURLToPath(new URL('../../shared/fixtures/seeds/', import.meta.url));
const B0 = getArch('efficientnet_b0');

async function refusal(p: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(isEffnetError(e, code), String(e)).toBe(true);
  expect((e as Error).message).toMatch(message);
}

describe('a state dict format is told once per file', () => {
  beforeEach(() => {
    vi.mocked(stateDictFormat).mockClear();
  });

  test('with the architecture inferred', async () => {
    const w = await resolveWeights(undefined, `${seeds}lukemelas_b0.pth`);
    expect([w.format, w.spec.name]).toEqual(['efficientnet_pytorch', 'efficientnet_b0']);
    expect(stateDictFormat).toHaveBeenCalledTimes(1);
  });

  test('with the architecture given, and by inferArch alone', async () => {
    await resolveWeights(B0, `${seeds}lukemelas_b0.pth`);
    expect(stateDictFormat).toHaveBeenCalledTimes(1);
    vi.mocked(stateDictFormat).mockClear();
    expect(inferArch(parsePytorchCheckpoint(readFileSync(`${seeds}lukemelas_b0.pth`))).name).toBe('efficientnet_b0');
    expect(stateDictFormat).toHaveBeenCalledTimes(1);
  });
});

describe('the size a safetensors head declares', () => {
  const file = serializeSafetensors({ a: { dtype: 'F32', shape: [3], data: new Float32Array(3) }, b: { dtype: 'F32', shape: [2], data: new Float32Array(2) } });
  const headerEnd = 8 + Number(new DataView(file.buffer).getBigUint64(0, true));

  test('asks for the length, then the header, then tells the size', () => {
    expect(safetensorsFileSize(file.subarray(0, 3))).toEqual({ need: 8 });
    expect(safetensorsFileSize(file.subarray(0, 8))).toEqual({ need: headerEnd });
    expect(safetensorsFileSize(file.subarray(0, headerEnd))).toBe(file.length);
  });

  test('a malformed header is the parser\'s SAFETENSORS error; the reader\'s cap then declares nothing', () => {
    const bad = new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0x5b, 0x5d]);
    expect(() => safetensorsFileSize(bad, { source: 'bad' })).toThrow(/bad: header is not a JSON object/);
    expect(stateDictCap('bad.safetensors')!(bad)).toBeUndefined();
    expect(stateDictCap('w.safetensors')!(file.subarray(0, headerEnd))).toEqual({ bytes: file.length, why: 'its safetensors header describes' });
  });

  test('a PyTorch checkpoint, by name or by signature, declares none; safetensors bytes under a .pth name do', () => {
    const zip = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0, 0, 0]);
    expect(stateDictCap('w.safetensors')!(zip)).toBeUndefined();
    // A legacy pickle (0x80 0x02 …) named .pth, and the same bytes with the name alone to tell.
    const legacy = new Uint8Array([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20]);
    expect(stateDictCap('w.pth')!(legacy)).toBeUndefined();
    // A mirror serving an engine export under torchvision's name: the header's size holds.
    const st = new Uint8Array([...new Uint8Array(new BigUint64Array([2n]).buffer), 0x7b, 0x7d]);
    expect(stateDictCap('efficientnet_b0_rwightman-3dd342df.pth')!(st)).toEqual({ bytes: 10, why: 'its safetensors header describes' });
  });
});

describe('weights URLs follow the one reader', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url?.startsWith('/silent')) return; // accepts, never answers
      if (req.url === '/moved.safetensors') res.writeHead(302, { location: base.replace('127.0.0.1', 'localhost') + '/elsewhere.safetensors' });
      // A TF.js model whose one shard redirects, on the same origin, out of the model's folder.
      else if (req.url === '/model/model.json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [{ paths: ['shard1.bin'], weights: [{ name: 'w', shape: [4], dtype: 'float32' }] }] }));
      } else if (req.url === '/model/shard1.bin') res.writeHead(302, { location: '/private/secret.bin' });
      else if (req.url === '/private/secret.bin') {
        res.writeHead(200);
        return res.end(Buffer.alloc(16));
      } else res.writeHead(404);
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  test('a silent state dict URL ends at timeoutMs', async () => {
    const t0 = performance.now();
    await refusal(resolveWeights(B0, `${base}/silent.safetensors`, { timeoutMs: 300 }), 'IO', /cannot read weights from .*silent\.safetensors: no data for 0\.3 s \(timeoutMs\)/);
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  test('a silent TF.js model.json URL ends at timeoutMs', async () => {
    await refusal(readTfjsModel(`${base}/silent/model.json`, { timeoutMs: 300 }), 'IO', /silent\/model\.json: no data for 0\.3 s/);
  });

  test('a redirect to another origin is not followed', async () => {
    await refusal(resolveWeights(B0, `${base}/moved.safetensors`), 'IO', /moved\.safetensors: it redirects to another origin \(http:\/\/localhost:\d+\)/);
  });

  test('a TF.js shard that redirects out of its model folder is refused where the redirect lands', async () => {
    await refusal(readTfjsModel(`${base}/model/model.json`), 'IO', /shard1\.bin: it redirects outside http:\/\/127\.0\.0\.1:\d+\/model\/, which is not followed/);
  });
});
