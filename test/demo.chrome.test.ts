import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { findLiteRt, startDemo, type DemoServer } from '../tools/commands/demo.js';
import { openChrome, type ChromeSession } from '../tools/harness/index.js';
import { ensurePretrainedB0 } from '../src/weights/fetch.js';

// `effnet demo` as a person uses it: the page loads the pretrained B0 with loadModel's default backend 'auto', a
// sample and dropped files are classified in the browser, each card shows the top-5 and the timing — a per-stage
// GPU bar on WebGPU, wall time on the CPU fallback, which 'auto' picks here (SwiftShader is the only adapter, and
// LiteRT.js is installed as a devDependency, so the server offers it).
describe('effnet demo page (headless Chromium)', () => {
  let server: DemoServer;
  let chrome: ChromeSession;
  beforeAll(async () => {
    server = await startDemo({ port: 0 });
    chrome = await openChrome({}, { url: server.url });
    await chrome.page.setViewport({ width: 1000, height: 900 });
  });
  afterAll(async () => {
    await chrome?.close();
    await server?.close();
  });

  const card = async (name: string, page = chrome.page) => {
    const sel = `.card[data-image="${name}"]:not([data-state="working"])`;
    await page.waitForSelector(sel, { timeout: 300_000 });
    return page.$eval(sel, (c) => ({
      state: (c as HTMLElement).dataset.state,
      text: c.textContent ?? '',
      top: Array.from(c.querySelectorAll('.bar'), (b) => b.textContent),
      probs: Array.from(c.querySelectorAll('.prob'), (p) => parseFloat(p.textContent ?? '')),
      segments: Array.from(c.querySelectorAll<HTMLElement>('.stages div'), (d) => ({ stage: d.dataset.stage, flex: parseFloat(d.style.flexGrow) })),
      timing: (c.querySelector('.timing') as HTMLElement | null)?.dataset.kind,
    }));
  };
  const ready = async (page = chrome.page) => {
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 300_000 });
    return page.evaluate(() => ({
      status: document.querySelector('#status')!.textContent,
      backend: document.body.dataset.backend,
      why: document.querySelector('#backend')!.textContent,
    }));
  };
  // LiteRT.js's wasm writes its own log (INFO/WARNING lines: accelerators registered, no NPU here) to stderr,
  // which the browser shows as console errors; they are not the page's.
  const pageErrors = (errors: string[]) => errors.filter((e) => !/Failed to load resource/.test(e) && !/^(INFO|WARNING): /.test(e));
  const STAGES = ['preprocess', 'stem', ...[1, 2, 3, 4, 5, 6, 7].map((i) => `stage${i}`), 'head'];

  test("'auto' on SwiftShader: the CPU fallback, said with its reason; the car sample's top-5 and its wall time", async () => {
    expect(server.cpu).toMatchObject({ wasm: '/litert-wasm/', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    const page = await ready();
    expect(page.status).toMatch(/^ready: efficientnet_b0 on the CPU \(LiteRT\.js wasm/);
    // The page names the backend loadModel chose and why (model.backend): here the adapter is a software one.
    expect(page.backend).toBe('cpu');
    expect(page.why).toMatch(/^CPU \(litert-wasm: LiteRT\.js wasm \(XNNPACK\), \d+ threads?\) — the only adapter is a software one \(.*\): the CPU runtime is faster there$/);
    await chrome.page.click('#samples button:first-child');
    const car = await card('car.jpg');
    expect(car.state).toBe('done');
    expect(car.top).toHaveLength(5);
    expect(car.top[0]).toBe('sports car, sport car');
    expect(car.probs[0]).toBeGreaterThan(50);
    // Probabilities are shown best first.
    expect([...car.probs].sort((a, b) => b - a)).toEqual(car.probs);
    // No GPU ran: no stage bar, the wall time instead.
    expect(car.segments).toEqual([]);
    expect(car.timing).toBe('wall');
    expect(car.text).toMatch(/[\d.]+ ms wall time on the CPU \(LiteRT\.js wasm/);
  });

  test('chosen files: the panda is classified, a corrupt file gets one line and the page goes on', async () => {
    const { samples } = await ensurePretrainedB0();
    const broken = join(mkdtempSync(join(tmpdir(), 'effnet-demo-')), 'broken.jpg');
    writeFileSync(broken, Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3]));
    const input = await chrome.page.$('#files');
    await (input as unknown as { uploadFile(...p: string[]): Promise<void> }).uploadFile(broken, samples.find((s) => s.endsWith('panda.jpg'))!);
    const bad = await card('broken.jpg');
    expect(bad.state).toBe('failed');
    expect(bad.text).toMatch(/^broken\.jpg: /);
    const panda = await card('panda.jpg');
    expect(panda.state).toBe('done');
    expect(panda.top[0]).toMatch(/^giant panda/);
    const shot = join(tmpdir(), 'effnet-demo.png');
    await chrome.page.screenshot({ path: shot as `${string}.png`, fullPage: true });
    expect(pageErrors(chrome.errors)).toEqual([]);
  });

  test('video mode: the test clip is classified frame after frame, with frames per second, its timing and changing predictions', async () => {
    const page = chrome.page;
    // No camera in headless Chromium: the webcam button says so and points to the file picker and the clip.
    await page.click('#webcam');
    await page.waitForFunction(() => document.querySelector('#video-note')?.className === 'error', { timeout: 60_000 });
    expect(await page.$eval('#video-note', (n) => n.textContent)).toMatch(/^webcam: .*pick a video file or play the test clip/);
    await page.click('#clip');
    // The clip shows each sample photo for 3 s: run until both have been the top-1 of some frame.
    const t0 = Date.now();
    await page.waitForFunction(
      () => {
        const seen = (document.querySelector('#live-preds') as HTMLElement | null)?.dataset.seen?.split('|') ?? [];
        return seen.includes('sports car, sport car') && seen.some((s) => s.startsWith('giant panda'));
      },
      { timeout: 180_000, polling: 200 },
    );
    const live = await page.evaluate(() => ({
      fps: Number(document.querySelector<HTMLElement>('#fps')!.dataset.fps),
      frames: Number(document.querySelector<HTMLElement>('#fps')!.dataset.frames),
      text: document.querySelector('#fps')!.textContent,
      bars: document.querySelectorAll('#live-preds .bar').length,
      segments: Array.from(document.querySelectorAll<HTMLElement>('#live-timing .stages div'), (d) => d.dataset.stage),
      timing: document.querySelector<HTMLElement>('#live-timing .timing')?.dataset.kind,
      note: document.querySelector('#video-note')!.textContent,
      video: document.body.dataset.video,
    }));
    console.log(`video mode: ${live.fps.toFixed(2)} frames/s over the last frames, ${live.frames} frames in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(live.video).toBe('on');
    expect(live.fps).toBeGreaterThan(0);
    expect(live.frames).toBeGreaterThanOrEqual(2);
    expect(live.text).toMatch(/^[\d.]+ frames\/s · 320×240 · frame \d+$/);
    expect(live.bars).toBe(5);
    // On the CPU fallback (this machine): frames read through a canvas, wall times, no GPU stage bar.
    expect(live.segments).toEqual([]);
    expect(live.timing).toBe('wall');
    expect(live.note).toMatch(/^test clip: every frame is read from the video through a canvas and run on the CPU/);
    await page.click('#stop');
    const frames = live.frames;
    await new Promise((ok) => setTimeout(ok, 1500));
    // Stopped: the loop ends (at most the frame in flight lands after the click).
    const after = await page.evaluate(() => Number(document.querySelector<HTMLElement>('#fps')!.dataset.frames));
    await new Promise((ok) => setTimeout(ok, 1500));
    expect(await page.evaluate(() => Number(document.querySelector<HTMLElement>('#fps')!.dataset.frames))).toBe(after);
    expect(after).toBeGreaterThanOrEqual(frames);
    expect(await page.evaluate(() => document.body.dataset.video)).toBe('off');
    expect(pageErrors(chrome.errors)).toEqual([]);
  });

  test('without LiteRT.js installed: WebGPU after all, the page says why, and the per-stage GPU bar', async () => {
    const nowhere = mkdtempSync(join(tmpdir(), 'effnet-demo-no-litert-'));
    expect(await findLiteRt(nowhere)).toEqual({ missing: expect.stringMatching(/^@litertjs\/core is not installed \(npm install @litertjs\/core/) });
    const bare = await startDemo({ port: 0, litertFrom: nowhere });
    const page = await chrome.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    try {
      expect(bare.cpu).toEqual({ missing: expect.stringMatching(/^@litertjs\/core is not installed/) });
      // Nothing of LiteRT.js is served: the import map's targets are 404s the page never asks for.
      expect((await fetch(new URL('/litert/core.js', bare.url))).status).toBe(404);
      await page.goto(bare.url);
      const r = await ready(page);
      expect(r.status).toMatch(/^ready: efficientnet_b0 on /);
      expect(r.backend).toBe('webgpu');
      expect(r.why).toMatch(/^WebGPU \(effnet-webgpu: .*\) — the only adapter is a software one \(.*\) and no CPU runtime is available \(.*\)\. CPU fallback not offered: @litertjs\/core is not installed/);
      await page.click('#samples button:first-child');
      const car = await card('car.jpg', page);
      expect(car.state).toBe('done');
      expect(car.top[0]).toBe('sports car, sport car');
      // preprocess, stem, the 7 table stages, head — each with a non-negative GPU time.
      expect(car.segments.map((s) => s.stage)).toEqual(STAGES);
      for (const s of car.segments) expect(s.flex).toBeGreaterThan(0);
      expect(car.timing).toBe('stages');
      expect(car.text).toMatch(/GPU [\d.]+ ms per stage/);
      expect(pageErrors(errors)).toEqual([]);
    } finally {
      await page.close();
      await bare.close();
    }
  });

  test('the server answers GET/HEAD for its own Host only, and streams the weights', async () => {
    const { port } = new URL(server.url);
    const send = (method: string, path: string, host = `127.0.0.1:${port}`) =>
      new Promise<{ status: number; allow?: string; length?: string }>((ok, fail) => {
        const req = request({ host: '127.0.0.1', port, method, path, headers: { host } }, (res) => {
          res.resume();
          res.on('end', () => ok({ status: res.statusCode!, allow: res.headers.allow, length: res.headers['content-length'] }));
        });
        req.on('error', fail);
        req.end();
      });
    for (const method of ['POST', 'PUT', 'DELETE', 'TRACE']) expect(await send(method, '/config.json')).toMatchObject({ status: 405, allow: 'GET, HEAD' });
    // A DNS-rebinding page reaches 127.0.0.1 under its own name: refused.
    expect((await send('GET', '/config.json', `rebind.example:${port}`)).status).toBe(403);
    expect((await send('GET', '/config.json', `localhost:${port}`)).status).toBe(200);
    const config = (await (await fetch(new URL('/config.json', server.url))).json()) as { weights: string };
    const head = await send('HEAD', config.weights);
    expect(head.status).toBe(200);
    expect(Number(head.length)).toBeGreaterThan(0);
    expect((await send('GET', '/weights/../../etc/passwd')).status).toBe(404);
    // LiteRT.js: exactly the import map's two modules and the wasm folder, nothing else of node_modules.
    for (const path of ['/litert/core.js', '/litert/wasm-utils.js', '/litert-wasm/litert_wasm_internal.wasm']) expect((await send('HEAD', path)).status, path).toBe(200);
    for (const path of ['/litert/package.json', '/litert/index.js', '/litert-wasm/../package.json']) expect((await send('GET', path)).status, path).toBe(404);
  });
});
