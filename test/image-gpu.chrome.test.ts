import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { basename } from 'node:path';
import { openChrome, BROWSER_DIST, type ChromeSession } from '../tools/harness/index.js';
import { ensurePretrainedB0 } from '../src/weights/fetch.js';

// Browser images straight to the GPU (copyExternalImageToTexture → kernels/preprocess_texture.wgsl), against
// the CPU path (decodeImage: createImageBitmap, then a 2D-canvas readback → kernels/preprocess.wgsl), with the
// real pretrained B0, in headless Chromium. The page imports the library bundle (dist/browser/effnet.js).
type Effnet = typeof import('../src/index.js');

describe('classify from ImageBitmap, canvas, OffscreenCanvas, <img> and VideoFrame (headless Chromium)', () => {
  let chrome: ChromeSession;
  beforeAll(async () => {
    const { modelDir, samples } = await ensurePretrainedB0();
    const files = new Map(samples.map((s) => [basename(s), s]));
    chrome = await openChrome({ '': BROWSER_DIST, model: modelDir }, {
      dynamic: async (path) => {
        const m = /^\/samples\/([^/]+)$/.exec(path);
        return m && files.has(m[1]!) ? { file: files.get(m[1]!)! } : undefined;
      },
    });
    // Load once; every test reuses the model (and counts the textures it makes).
    // A string, so that vitest's transform does not rewrite the page's dynamic import.
    await chrome.page.evaluate(`import('/effnet.js').then((m) => { globalThis.m = m; })`);
    await chrome.page.evaluate(async () => {
      const { m } = globalThis as unknown as { m: Effnet };
      const model = await m.loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: '/model/model.json' });
      const device = model.gpu.device;
      const textures: { destroyed: boolean }[] = [];
      const create = device.createTexture.bind(device);
      device.createTexture = (d: GPUTextureDescriptor) => {
        const t = create(d);
        const rec = { destroyed: false };
        textures.push(rec);
        const destroy = t.destroy.bind(t);
        t.destroy = () => ((rec.destroyed = true), destroy());
        return t;
      };
      Object.assign(globalThis, { model, textures });
    });
  });
  afterAll(async () => chrome?.close());

  test('every source gives the decoded image’s probabilities, in one mixed batch; every texture is destroyed', async () => {
    const r = await chrome.page.evaluate(async () => {
      const { m, model, textures } = globalThis as unknown as { m: Effnet; model: import('../src/index.js').Model; textures: { destroyed: boolean }[] };
      const bytes = new Uint8Array(await (await fetch('/samples/panda.jpg')).arrayBuffer());
      // As decodeImage makes it: no colour conversion, unpremultiplied.
      const bitmap = await createImageBitmap(new Blob([bytes]), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
      const decoded = await m.decodeImage(bytes, 'panda.jpg');
      const canvas = Object.assign(document.createElement('canvas'), { width: bitmap.width, height: bitmap.height });
      canvas.getContext('2d')!.drawImage(bitmap, 0, 0);
      const offscreen = new OffscreenCanvas(bitmap.width, bitmap.height);
      offscreen.getContext('2d')!.drawImage(bitmap, 0, 0);
      const img = new Image();
      img.src = canvas.toDataURL('image/png'); // lossless: the same pixels
      await img.decode();
      const frame = new VideoFrame(bitmap, { timestamp: 0 });
      const sources = { decoded, bitmap, canvas, offscreen, img, frame };
      const before = textures.length;
      // 128 px keeps SwiftShader quick; all 1000 probabilities per image.
      const out = await m.classify(model, Object.values(sources), { preset: m.PREPROCESS_TFJS, top: 1000, size: 128 });
      frame.close();
      const probs = out.predictions.map((p) => {
        const v = new Float64Array(1000);
        for (const e of p) v[e.index] = e.prob;
        return v;
      });
      const diff = (a: Float64Array, b: Float64Array) => a.reduce((mx, x, i) => Math.max(mx, Math.abs(x - b[i]!)), 0);
      return {
        size: [decoded.width, decoded.height, bitmap.width, bitmap.height],
        top: out.predictions.map((p) => p[0]!.index),
        maxDiff: Object.fromEntries(Object.keys(sources).map((k, i) => [k, diff(probs[i]!, probs[0]!)])),
        made: textures.length - before,
        leaked: textures.filter((t) => !t.destroyed).length,
      };
    });
    expect(r.size[0]).toBe(r.size[2]);
    expect(r.size[1]).toBe(r.size[3]);
    // The texture kernel reads the very bytes the buffer kernel unpacks: identical network inputs, identical outputs.
    for (const k of ['bitmap', 'canvas', 'offscreen', 'img']) expect(r.maxDiff[k], k).toBe(0);
    // A VideoFrame may pass through the browser's video colour path: the same class, probabilities within 1e-3.
    expect(r.maxDiff.frame).toBeLessThan(1e-3);
    expect(new Set(r.top).size).toBe(1);
    // One per browser image (plus, where the device cannot import a video frame directly, the refused first try).
    expect(r.made).toBeGreaterThanOrEqual(5);
    expect(r.leaked).toBe(0);
    expect(chrome.errors).toEqual([]);
  });

  test('the car sample as an ImageBitmap at 224: top-1 sports car, as from its decoded pixels', async () => {
    const r = await chrome.page.evaluate(async () => {
      const { m, model } = globalThis as unknown as { m: Effnet; model: import('../src/index.js').Model };
      const blob = await (await fetch('/samples/car.jpg')).blob();
      const bitmap = await createImageBitmap(blob);
      const [viaTexture] = await m.classifyImages(model, [bitmap], { preset: m.PREPROCESS_TFJS, top: 3 });
      bitmap.close();
      return viaTexture!.map((p) => ({ index: p.index, prob: p.prob }));
    });
    // ImageNet class 817: sports car.
    expect(r[0]!.index).toBe(817);
    expect(r[0]!.prob).toBeGreaterThan(0.5);
  });

  test('refusals name the image: not loaded, over the pixel cap, past maxTextureDimension2D, not an image; no texture left behind', async () => {
    const r = await chrome.page.evaluate(async () => {
      const { m, model, textures } = globalThis as unknown as { m: Effnet; model: import('../src/index.js').Model; textures: { destroyed: boolean }[] };
      const opts = { preset: m.PREPROCESS_TFJS, size: 64 };
      const fail = async (images: unknown[], o: object = opts) => {
        try {
          await m.classify(model, images as never, o as never);
          return 'no error';
        } catch (e) {
          return `${(e as { code?: string }).code}: ${(e as Error).message}`;
        }
      };
      const max = model.gpu.device.limits.maxTextureDimension2D;
      const small = new OffscreenCanvas(40, 30);
      small.getContext('2d')!.fillRect(0, 0, 40, 30);
      return {
        unloaded: await fail([new Image()]),
        cap: await fail([small], { ...opts, maxPixels: 1000 }),
        tooWide: await fail([small, new OffscreenCanvas(max + 1, 1)]),
        notImage: await fail([{ width: 2, height: 2 }]),
        badPreset: await fail([small], { preset: { name: 'mine' } }),
        leaked: textures.filter((t) => !t.destroyed).length,
        max,
      };
    });
    expect(r.unloaded).toMatch(/^INPUT: image 0: HTMLImageElement of 0×0 pixels has nothing to classify: the image has not loaded/);
    expect(r.cap).toMatch(/^INPUT: image 0: OffscreenCanvas of 40×30 pixels \(0\.0 MP\) is over the cap of 0\.0 MP \(maxPixels\)/);
    expect(r.tooWide).toBe(`LIMIT_EXCEEDED: image 1: OffscreenCanvas of ${r.max + 1}×1 pixels exceeds this device's maxTextureDimension2D (${r.max}); scale it down first`);
    expect(r.notImage).toMatch(/^INPUT: image 0: expected encoded image bytes \(Uint8Array, ArrayBuffer\), a path or URL, a DecodedImage .* got Object$/);
    expect(r.badPreset).toMatch(/^INPUT: classify's preset must be a PreprocessPreset .* got Object$/);
    expect(r.leaked).toBe(0);
  });
});
