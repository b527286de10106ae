/**
 * The classification front end end to end in Node: decode the shared ImageNet photos, preprocess them on the
 * GPU with the TF.js preset, and compare with the input tensor the TF.js reference fed its model; plus the
 * decoder's error handling.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { describe, expect, test } from 'vitest';
import { readBuffer, storageBuffer } from '../src/buffers.js';
import { isEffnetError } from '../src/errors.js';
import { decodeImage, readImageFile, type DecodedImage } from '../src/image/decode.js';
import { centerCropRect, PREPROCESS_TFJS, PREPROCESS_TORCHVISION, preprocessLaunch, presetLaunch } from '../src/kernels/preprocess.js';
import { parseSafetensors } from '../src/safetensors.js';
import { rng } from './support/tensor.js';
import { useNodeGpu } from './support/node-gpu.js';

const SHARED = fileURLToPath(new URL('../../shared/', import.meta.url));
const IMAGES = SHARED + 'images/';

/** Expect `p` to reject with an EffnetError of `code` whose message matches every pattern. */
async function rejects(p: Promise<unknown>, code: 'INPUT' | 'IO', ...patterns: RegExp[]): Promise<void> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(isEffnetError(e, code), `expected EffnetError('${code}'), got ${String(e)}`).toBe(true);
  for (const re of patterns) expect((e as Error).message).toMatch(re);
}

describe('TF.js preprocessing of the shared ImageNet photos', () => {
  const { gpu, lib } = useNodeGpu();

  test('matches the TF.js reference input tensor', async () => {
    const fixture = parseSafetensors(readFileSync(SHARED + 'fixtures/tfjs_b0.io.safetensors'), { source: 'tfjs_b0.io.safetensors' });
    const names = fixture.metadata['images']!.split(',');
    const input = fixture.get('input');
    const [batch, size] = input.shape as [number, number, number, number];
    expect(input.shape).toEqual([names.length, size, size, 3]);
    const images: DecodedImage[] = await Promise.all(names.map((n) => readImageFile(IMAGES + n)));

    // All images into one batch buffer in one submission, as the runtime does.
    const { device } = gpu();
    const made: GPUBuffer[] = [];
    const y = storageBuffer(device, batch * size * size * 3 * 4, 'input');
    made.push(y);
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (const [n, img] of images.entries()) {
      const launch = presetLaunch(PREPROCESS_TFJS, { srcW: img.width, srcH: img.height, size, n, batch, layout: 'nhwc' });
      const src = storageBuffer(device, img.rgba, `src ${names[n]}`);
      const params = lib().uniformBuffer(launch.kernel, launch.uniforms);
      made.push(src, params);
      pass.setPipeline(await lib().pipeline(launch.kernel, launch.overrides));
      pass.setBindGroup(0, lib().bindGroup(launch.kernel, { params, src, y }));
      pass.dispatchWorkgroups(...lib().grid(launch.workgroups));
    }
    pass.end();
    device.queue.submit([enc.finish()]);
    const got = new Float32Array(await readBuffer(device, y));
    for (const b of made) b.destroy();
    expect(gpu().takeErrors().map((e) => e.message)).toEqual([]);

    // Decoders may differ in the last bit of a pixel, so the bound is statistical: mean difference well under
    // one grey level and nearly every value within two.
    const want = input.f32();
    const per = size * size * 3;
    const lines: string[] = [];
    let sum = 0;
    let within = 0;
    let max = 0;
    for (let n = 0; n < batch; n++) {
      let s = 0, w = 0, m = 0;
      for (let i = n * per; i < (n + 1) * per; i++) {
        const d = Math.abs(got[i]! - want[i]!);
        s += d;
        if (d <= 2 / 255) w++;
        if (!(d <= m)) m = d;
      }
      sum += s;
      within += w;
      max = Math.max(max, m);
      lines.push(`${names[n]} ${images[n]!.width}x${images[n]!.height}: mean ${((s / per) * 255).toExponential(2)}/255, max ${(m * 255).toExponential(2)}/255, within 2/255 ${((100 * w) / per).toFixed(3)}%`);
    }
    const mean = sum / (batch * per);
    const frac = within / (batch * per);
    const summary = `mean |Δ| ${(mean * 255).toExponential(3)}/255, max ${(max * 255).toExponential(3)}/255, ${(100 * frac).toFixed(4)}% within 2/255`;
    console.info(`tfjs preprocessing vs fixture: ${summary}\n  ${lines.join('\n  ')}`);
    expect(mean, summary).toBeLessThan(1 / 255);
    expect(frac, summary).toBeGreaterThan(0.99);
  });
});

describe('decodeImage', () => {
  const tench = () => new Uint8Array(readFileSync(IMAGES + 'n01440764_tench.JPEG'));

  test('decodes a JPEG to RGBA8, grey JPEGs as R = G = B', async () => {
    const img = await decodeImage(tench(), 'tench');
    expect([img.width, img.height, img.rgba.length]).toEqual([500, 375, 500 * 375 * 4]);
    const grey = await readImageFile(IMAGES + 'n02823750_beer_glass.JPEG');
    expect([grey.width, grey.height]).toEqual([375, 500]);
    let same = true;
    for (let i = 0; i < grey.rgba.length; i += 4) same &&= grey.rgba[i] === grey.rgba[i + 1] && grey.rgba[i] === grey.rgba[i + 2] && grey.rgba[i + 3] === 255;
    expect(same).toBe(true);
  });

  test('decodes a PNG exactly', async () => {
    const png = new PNG({ width: 5, height: 3 });
    const r = rng(7);
    for (let i = 0; i < png.data.length; i++) png.data[i] = Math.floor(r() * 256);
    const img = await decodeImage(new Uint8Array(PNG.sync.write(png)), 'made.png');
    expect([img.width, img.height]).toEqual([5, 3]);
    expect(Array.from(img.rgba)).toEqual(Array.from(png.data));
  });

  test('truncated JPEG', async () => {
    await rejects(decodeImage(tench().subarray(0, 20000), 'cut.jpg'), 'INPUT', /^cut\.jpg: corrupt or truncated JPEG data \(.+\)$/);
  });

  test('random bytes', async () => {
    const r = rng(3);
    const junk = Uint8Array.from({ length: 256 }, () => Math.floor(r() * 256));
    junk[0] = 0x00;
    await rejects(decodeImage(junk, 'junk.bin'), 'INPUT', /^junk\.bin: not a recognised image format \(first bytes 00 /, /supported: JPEG .* PNG/);
  });

  test('GIF header', async () => {
    const gif = new Uint8Array([...'GIF89a'].map((c) => c.charCodeAt(0)).concat([1, 0, 1, 0, 0, 0, 0]));
    await rejects(decodeImage(gif, 'anim.gif'), 'INPUT', /GIF images are not supported/, /47 49 46 38 39 61 .* "GIF89a/, /supported: JPEG/);
  });

  test('PNG signature with corrupt data', async () => {
    const bytes = new Uint8Array(PNG.sync.write(new PNG({ width: 4, height: 4 })));
    await rejects(decodeImage(bytes.subarray(0, bytes.length - 20), 'cut.png'), 'INPUT', /^cut\.png: corrupt or truncated PNG data/);
  });

  test('empty file', async () => {
    await rejects(decodeImage(new Uint8Array(0), 'empty.jpg'), 'INPUT', /^empty\.jpg: the file is empty/);
  });

  test('zero-size PNG', async () => {
    for (const [w, h] of [[0, 0], [0, 3]] as const) {
      const bytes = new Uint8Array(PNG.sync.write(new PNG({ width: w, height: h })));
      await rejects(decodeImage(bytes, 'none.png'), 'INPUT', new RegExp(`^none\\.png: the image is empty \\(${w}×${h} pixels\\)`));
    }
  });

  test('readImageFile: directory, missing file', async () => {
    await rejects(readImageFile(IMAGES), 'IO', /cannot read image from .*images\/: is a directory/);
    await rejects(readImageFile(IMAGES + 'no-such-image.jpg'), 'IO', /cannot read image from .*no-such-image\.jpg: no such file/);
  });

  test('readImageFile: a FIFO is refused at once, without waiting for a writer', async () => {
    const fifo = join(mkdtempSync(join(tmpdir(), 'effnet-img-')), 'photo.jpg');
    execFileSync('mkfifo', [fifo]);
    const t0 = performance.now();
    await rejects(readImageFile(fifo), 'IO', /photo\.jpg: not a regular file \(a device, FIFO or socket\)/);
    expect(performance.now() - t0).toBeLessThan(500);
  });
});

describe('camera-sized JPEGs decode (jpeg-js alone refuses them as corrupt)', () => {
  // 27 MP (6000×4500, a 27 MP phone) and 48 MP (8000×6000): jpeg-js's default 512 MB budget fails both.
  test.each([[6000, 4500], [8000, 6000]])('%i×%i', async (width, height) => {
    const rgba = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) rgba.set([i % 251, (i >> 9) & 255, 128, 255], i * 4);
    const { data } = jpeg.encode({ width, height, data: rgba }, 40);
    const img = await decodeImage(new Uint8Array(data), 'camera.jpg');
    expect([img.width, img.height]).toEqual([width, height]);
    // A pixel near the middle survives the round trip to within JPEG error.
    const at = ((height >> 1) * width + (width >> 1)) * 4;
    expect(Math.abs(img.rgba[at + 2]! - 128)).toBeLessThan(12);
  }, 180_000);
});

describe('preprocess geometry and launch checks', () => {
  test('centre crops of the two presets', () => {
    // TF.js: floor(224/256·375) = 328 at floor offsets (checked bit-exactly against the fixture above).
    expect(centerCropRect(500, 375)).toEqual({ x: 86, y: 23, width: 328, height: 328 });
    expect(PREPROCESS_TFJS.crop(375, 500, 224)).toEqual({ x: 23, y: 86, width: 328, height: 328 });
    // torchvision: Resize(256) makes 500×375 into 341×256; CenterCrop(224) starts at round(58.5) = 58 (half to
    // even) and 16, mapped back through the per-axis scales 500/341 and 375/256.
    const r = PREPROCESS_TORCHVISION.crop(500, 375, 224);
    for (const [got, want] of [[r.x, (58 * 500) / 341], [r.y, (16 * 375) / 256], [r.width, (224 * 500) / 341], [r.height, (224 * 375) / 256]]) {
      expect(got).toBeCloseTo(want!, 12);
    }
  });

  test('rejects what the kernel cannot do', () => {
    const ok = { srcW: 50, srcH: 40, crop: { x: 0, y: 0, width: 50, height: 40 }, outH: 8, outW: 8, n: 0, batch: 1, layout: 'nhwc', mode: 'bilinear' } as const;
    expect(preprocessLaunch(ok).workgroups).toBe(1);
    const bad = (over: object, re: RegExp) => {
      const e = (() => { try { preprocessLaunch({ ...ok, ...over }); } catch (err) { return err; } })();
      expect(isEffnetError(e, 'INPUT'), String(e)).toBe(true);
      expect((e as Error).message).toMatch(re);
    };
    bad({ crop: { x: 1, y: 0, width: 50, height: 40 } }, /not a non-empty rectangle inside the 50×40 image/);
    bad({ crop: { x: 0, y: 0, width: 0, height: 40 } }, /not a non-empty rectangle/);
    bad({ n: 1 }, /image index 1 is outside a batch of 1/);
    bad({ mode: 'tf-bilinear', antialias: true }, /antialiasing applies to 'bilinear' and 'bicubic'/);
    bad({ std: [1, 0, 1] }, /std/);
    bad({ outW: 0 }, /output size/);
  });
});
