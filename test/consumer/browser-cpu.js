// A browser app without WebGPU (issue 27's consumer test): `loadModel`'s default backend falls back to the CPU
// runtime, LiteRT.js, which the app installs and hands over with the URL it serves LiteRT's wasm folder from.
// `cpuRun` classifies photos from their fetched bytes and as ImageBitmaps, and (with `fixture`) runs the
// torchvision fixture's input to compare its logits with the fixture's.
import { classify, errorStats, loadModel, parseSafetensors } from 'effnet-webgpu';

const cpu = { litert: () => import('@litertjs/core'), wasm: '/litert-wasm/' };

const top1 = (c) => c.predictions.map(([p]) => ({ index: p.index, label: p.label, prob: p.prob }));

globalThis.cpuRun = async (weightsUrl, imageUrls, fixture) => {
  const ms = {};
  let t = performance.now();
  const lap = (name) => {
    const now = performance.now();
    ms[name] = Math.round(now - t);
    t = now;
  };
  const model = await loadModel({ weights: weightsUrl, cpu });
  lap('load');
  const out = { backend: model.backend, ms };
  try {
    const bytes = await Promise.all(imageUrls.map(async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer())));
    lap('fetch');
    // The first classify of a batch size compiles its model file: the bytes pay for it.
    out.bytes = top1(await classify(model, bytes, { top: 1 }));
    lap('classifyBytes');
    const bitmaps = await Promise.all(bytes.map((b) => createImageBitmap(new Blob([b]))));
    out.bitmaps = top1(await classify(model, bitmaps, { top: 1 }));
    lap('classifyBitmaps');
    // Refused as on the GPU: an <img> with nothing loaded, a bitmap over maxPixels.
    const refusals = [classify(model, [document.createElement('img')]), classify(model, bitmaps, { maxPixels: 1000 })];
    out.refused = await Promise.all(refusals.map((p) => p.then(() => 'classified', (e) => `${e.code}: ${e.message}`)));
  } finally {
    model.dispose();
  }
  if (fixture) {
    const io = parseSafetensors(new Uint8Array(await (await fetch(fixture.io)).arrayBuffer()));
    const ref = await loadModel({ weights: fixture.weights, cpu });
    try {
      const input = io.get('input');
      out.fixture = { backend: ref.backend.runtime, relL2: errorStats(await ref.run({ data: input.f32(), shape: input.shape }), io.get('logits').f32()).relL2 };
    } finally {
      ref.dispose();
    }
    lap('fixture');
  }
  return out;
};
