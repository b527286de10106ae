/**
 * The `effnet demo` page: drop images, see the top-5 and where the GPU time of that inference went. The
 * engine runs here, in the browser, on loadModel's default backend 'auto' (or the server's/`?backend=` choice):
 * our WebGPU kernels on a hardware adapter — images decoded by the browser (createImageBitmap) and preprocessed
 * on the GPU in the same submit as the network, whose passes carry timestamp queries — or, where WebGPU is
 * missing or only a software adapter is, the CPU fallback on LiteRT.js's wasm, when the server offers LiteRT.js
 * (the page's import map points `@litertjs/core` at the user's install; `effnet demo` says when it is not there).
 * The page says which backend ran and why; the per-stage GPU bar is WebGPU's, the CPU shows wall times. Video
 * mode classifies a webcam, a video file or a generated test clip frame after frame: on WebGPU each frame goes
 * from the <video> element straight to the GPU (classify's texture path), on the CPU through a canvas; the page
 * shows frames per second and the latest frame's timing.
 */
import {
  classify, decodeImage, formatAdapter, getArch, loadModel, Model, PREPROCESS_TFJS, PREPROCESS_TORCHVISION,
  type CpuRuntimeOptions, type LoadedModel, type Prediction, type PreprocessPreset, type StageTime,
} from '../../src/index.js';
import { BACKENDS, isBackend, type Backend } from '../harness/flags.js';
import type { DemoConfig } from './demo-config.js';

const BLOCK_COLOURS: Record<string, string> = { input: '#9ca3af', stem: '#7c3aed', mbconv: '#2563eb', fused: '#ea580c', head: '#16a34a' };
const BLOCK_NAMES: Record<string, string> = { input: 'preprocessing', stem: 'stem', mbconv: 'MBConv', fused: 'Fused-MBConv', head: 'head' };

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const statusLine = $('status');
const results = $('results');

function setStatus(text: string, state: 'loading' | 'ready' | 'error'): void {
  statusLine.textContent = text;
  statusLine.className = state === 'error' ? 'error' : '';
  document.body.dataset.state = state;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), attrs);
  e.append(...children);
  return e;
}

/** Stages of one block type alternate between two shades so that neighbours stay distinguishable. */
function shade(block: string, i: number): string {
  const c = BLOCK_COLOURS[block] ?? '#6b7280';
  return i % 2 ? `color-mix(in srgb, ${c} 70%, white)` : c;
}

/** How the timing of one inference is told: the GPU stage bar (WebGPU with timestamp queries) or wall time. */
interface TimingNote {
  /** 'gpu': a stage bar when the run has stage times; 'cpu': wall time on the CPU runtime. */
  kind: 'gpu' | 'cpu';
  /** GPU: how the stages were timed; CPU: what ran them. */
  text: string;
}

function timingView(stages: StageTime[] | undefined, wallMs: number, note: TimingNote): HTMLElement {
  const box = el('div', { className: 'timing' });
  box.dataset.kind = stages && note.kind === 'gpu' ? 'stages' : 'wall';
  if (note.kind === 'cpu') {
    box.append(`${wallMs.toFixed(1)} ms wall time on the CPU (${note.text}): reading the image, preprocessing and the network (the per-stage GPU bar is WebGPU's)`);
    return box;
  }
  if (!stages) {
    box.append(`${wallMs.toFixed(1)} ms wall time (this GPU has no timestamp-query: per-stage timing is unavailable)`);
    return box;
  }
  const timerNote = note.text;
  const gpuMs = stages.reduce((a, s) => a + s.ms, 0);
  const bar = el('div', { className: 'stages' });
  const legend = el('div', { className: 'legend' });
  stages.forEach((s, i) => {
    const seg = el('div', { title: `${s.name} (${BLOCK_NAMES[s.block] ?? s.block}): ${s.ms.toFixed(2)} ms` });
    seg.style.flex = `${Math.max(s.ms, 1e-6)} 1 0`;
    seg.style.background = shade(s.block, i);
    seg.dataset.stage = s.name;
    bar.append(seg);
    const item = el('span', {}, el('b', {}, s.name), ` ${s.ms.toFixed(1)} ms`);
    item.style.setProperty('--c', shade(s.block, i));
    legend.append(item);
  });
  const blocks = [...new Set(stages.map((s) => s.block))].map((b) => {
    const item = el('span', {}, BLOCK_NAMES[b] ?? b);
    item.style.setProperty('--c', BLOCK_COLOURS[b] ?? '#6b7280');
    return item;
  });
  box.append(
    el('div', {}, `GPU ${gpuMs.toFixed(1)} ms per stage, summed (${timerNote}); ${wallMs.toFixed(1)} ms from upload to result`),
    bar,
    legend,
    el('div', { className: 'legend' }, 'block types: ', ...blocks),
  );
  return box;
}

/** The backend the page asks loadModel for: `?backend=` over the server's choice (`effnet demo --backend`). */
function chosenBackend(config: DemoConfig): Backend {
  const asked = new URLSearchParams(location.search).get('backend');
  if (asked === null) return config.backend;
  if (!isBackend(asked)) throw new Error(`?backend= must be ${BACKENDS.join(', ')}; got '${asked}'`);
  return asked;
}

/** Which backend ran and why (`model.backend`), and whether the CPU fallback was on offer at all. */
function showBackend(model: LoadedModel, config: DemoConfig): void {
  const b = model.backend;
  const line = $('backend');
  line.replaceChildren(
    el('b', {}, b.name === 'webgpu' ? 'WebGPU' : 'CPU'),
    ` (${b.runtime}: ${b.detail}) — ${b.reason}`,
    'missing' in config.cpu ? `. CPU fallback not offered: ${config.cpu.missing}` : '',
  );
  document.body.dataset.backend = b.name;
}

async function main(): Promise<void> {
  setStatus('reading the configuration…', 'loading');
  const config = (await (await fetch('config.json')).json()) as DemoConfig;
  const backend = chosenBackend(config);
  // LiteRT.js (module and wasm) only when the server found it: 'auto' then falls back to the CPU where WebGPU is
  // missing or software-only; without it, 'auto' stays on WebGPU (or fails, naming what is missing).
  const cpu: CpuRuntimeOptions | undefined = 'wasm' in config.cpu ? { litert: () => import('@litertjs/core'), wasm: new URL(config.cpu.wasm, location.href).href } : undefined;
  if (backend === 'cpu' && !cpu) throw new Error(`the CPU backend runs on LiteRT.js, which the server does not offer: ${'missing' in config.cpu ? config.cpu.missing : ''}`);
  setStatus(`loading ${config.arch} weights…`, 'loading');
  const t0 = performance.now();
  const model = await loadModel({ backend, arch: getArch(config.arch), weights: new URL(config.weights, location.href).href, ...(cpu ? { cpu } : {}) });
  const loadMs = performance.now() - t0;
  showBackend(model, config);
  const preset = config.preset === 'tfjs' ? PREPROCESS_TFJS : PREPROCESS_TORCHVISION;
  const where = model instanceof Model ? formatAdapter(model.gpu.report) : `the CPU (${model.backend.detail})`;
  const timerNote: TimingNote =
    model instanceof Model
      ? { kind: 'gpu', text: model.gpu.report.isFallback ? 'timestamp queries, software adapter' : 'timestamp queries' }
      : { kind: 'cpu', text: model.backend.detail };

  // The first inference compiles every pipeline (on the CPU: writes and compiles the model file); doing it now on
  // a blank image keeps that out of the user's first drop.
  const compiling = model instanceof Model ? 'kernels' : 'model file';
  setStatus(`compiling the ${compiling} for ${config.arch} on ${where}…`, 'loading');
  const t1 = performance.now();
  const blank = { width: 8, height: 8, rgba: new Uint8Array(8 * 8 * 4).fill(128) };
  await classify(model, [blank], { preset, top: 1 });
  const compileMs = performance.now() - t1;
  setStatus(`ready: ${config.arch} on ${where} (weights ${(loadMs / 1000).toFixed(1)} s, ${compiling} ${(compileMs / 1000).toFixed(1)} s)`, 'ready');

  let queue = Promise.resolve();
  const enqueue = (name: string, bytes: () => Promise<Uint8Array>, thumbnail: string) => {
    queue = queue.then(() => classifyOne(model, config, preset, name, bytes, thumbnail, timerNote));
  };
  const addFiles = (files: FileList | null) => {
    for (const f of Array.from(files ?? [])) enqueue(f.name, async () => new Uint8Array(await f.arrayBuffer()), URL.createObjectURL(f));
  };
  $<HTMLInputElement>('files').addEventListener('change', (e) => addFiles((e.target as HTMLInputElement).files));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    addFiles(e.dataTransfer?.files ?? null);
  });
  videoMode(model, config, preset, timerNote);
  for (const s of config.samples) {
    const b = el('button', { type: 'button', textContent: `try ${s.name}` });
    b.addEventListener('click', () =>
      enqueue(s.name, async () => {
        const r = await fetch(s.url);
        if (!r.ok) throw new Error(`${s.name}: HTTP ${r.status}`);
        return new Uint8Array(await r.arrayBuffer());
      }, s.url),
    );
    $('samples').append(b);
  }
}

async function classifyOne(
  model: LoadedModel, config: DemoConfig, preset: typeof PREPROCESS_TFJS, name: string, bytes: () => Promise<Uint8Array>, thumbnail: string, timerNote: TimingNote,
): Promise<void> {
  const card = el('div', { className: 'card' });
  card.dataset.image = name;
  card.dataset.state = 'working';
  card.append(el('div', { textContent: `${name}: classifying…` }));
  results.prepend(card);
  try {
    const image = await decodeImage(await bytes(), name);
    const out = await classify(model, [image], { preset, top: 5, labels: config.labels, timed: true });
    const preds = out.predictions[0]!;
    card.replaceChildren(
      el('img', { src: thumbnail, alt: name }),
      el(
        'div',
        {},
        el('h2', { textContent: `${name} (${image.width}×${image.height})` }),
        ...predictionBars(preds),
        timingView(out.stages, out.wallMs, timerNote),
      ),
    );
    card.dataset.state = 'done';
  } catch (e) {
    card.className = 'card failed';
    // Engine errors already name the image; others (a failed fetch) get the name here.
    const message = (e as Error).message ?? String(e);
    card.replaceChildren(message.startsWith(name) ? message : `${name}: ${message}`);
    card.dataset.state = 'failed';
  }
}

/** One bar per class, best first, its length the probability. */
function predictionBars(preds: Prediction[]): HTMLElement[] {
  return preds.map((p, i) => {
    const bar = el('div', { className: i === 0 ? 'bar top1' : 'bar', textContent: p.label, title: `class ${p.index}: ${p.label}` });
    bar.style.setProperty('--p', `${(p.prob * 100).toFixed(1)}%`);
    return el('div', { className: 'pred' }, bar, el('span', { className: 'prob', textContent: `${(p.prob * 100).toFixed(1)}%` }));
  });
}

const message = (e: unknown) => (e as Error)?.message ?? String(e);

/** Resolves in a task of its own (a message event: no timer clamping), after whatever the page has queued. */
function nextTask(): Promise<void> {
  return new Promise((ok) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      ok();
    };
    channel.port2.postMessage(null);
  });
}

/** Frames per second over the last few inferences: a sliding window, so the number follows the load. */
class FrameRate {
  readonly #ends: number[] = [];

  /** Record an inference that ended at `now` after `wallMs`; the rate so far. */
  tick(now: number, wallMs: number): number {
    this.#ends.push(now);
    if (this.#ends.length > 10) this.#ends.shift();
    const n = this.#ends.length;
    // One frame alone: its own duration.
    return n < 2 ? 1000 / Math.max(wallMs, 1e-3) : ((n - 1) * 1000) / (this.#ends[n - 1]! - this.#ends[0]!);
  }
}

/** Seconds each sample photo stays on screen in the test clip. */
const CLIP_SECONDS_PER_IMAGE = 3;

/**
 * A generated video for trying video mode without a camera or a file: the sample photos, each for a few
 * seconds with a slow zoom (so consecutive frames differ, as a camera's do), drawn on a canvas and captured as a
 * 30 fps MediaStream.
 */
async function testClip(config: DemoConfig): Promise<{ stream: MediaStream; stop(): void }> {
  const bitmaps = await Promise.all(
    config.samples.map(async (s) => {
      const r = await fetch(s.url);
      if (!r.ok) throw new Error(`${s.name}: HTTP ${r.status}`);
      return createImageBitmap(await r.blob());
    }),
  );
  if (bitmaps.length === 0) throw new Error('the server offers no sample photos to make a clip from');
  const canvas = el('canvas', { width: 320, height: 240 });
  const ctx = canvas.getContext('2d')!;
  const t0 = performance.now();
  const draw = () => {
    const t = (performance.now() - t0) / 1000;
    const b = bitmaps[Math.floor(t / CLIP_SECONDS_PER_IMAGE) % bitmaps.length]!;
    // Cover the frame, zooming in by up to 8% over the photo's turn.
    const zoom = (1 + (0.08 * (t % CLIP_SECONDS_PER_IMAGE)) / CLIP_SECONDS_PER_IMAGE) * Math.max(canvas.width / b.width, canvas.height / b.height);
    const w = b.width * zoom;
    const h = b.height * zoom;
    ctx.drawImage(b, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
  };
  draw();
  const timer = setInterval(draw, 1000 / 30);
  const stream = canvas.captureStream(30);
  return {
    stream,
    stop() {
      clearInterval(timer);
      for (const track of stream.getTracks()) track.stop();
      for (const b of bitmaps) b.close();
    },
  };
}

/**
 * Video mode: a webcam when the browser grants one, else a video file the user picks, or the test clip. Frames
 * are classified one inference after another (each classify call takes the frame the video shows when it
 * starts), and the live panel shows the top-5, frames per second and the stage bar of the latest frame.
 */
function videoMode(model: LoadedModel, config: DemoConfig, preset: PreprocessPreset, timerNote: TimingNote): void {
  const video = $<HTMLVideoElement>('video');
  const note = $('video-note');
  const fpsView = $('fps');
  const preds = $('live-preds');
  const timing = $('live-timing');
  const stopButton = $<HTMLButtonElement>('stop');
  /** Bumped by every start and stop: a loop whose generation is gone ends. */
  let generation = 0;
  let release: (() => void) | undefined;

  const say = (text: string, error = false) => {
    note.textContent = text;
    note.className = error ? 'error' : '';
  };
  say(
    timerNote.kind === 'gpu'
      ? 'Frames go from the video straight to the GPU (copyExternalImageToTexture), one inference after another.'
      : 'Frames are read from the video through a canvas and classified on the CPU, one inference after another.',
  );

  const stop = () => {
    generation++;
    release?.();
    release = undefined;
    video.pause();
    video.srcObject = null;
    video.removeAttribute('src');
    video.load();
    stopButton.disabled = true;
    document.body.dataset.video = 'off';
  };

  /** `attach` points the <video> at a source and returns how to let go of it. */
  const start = async (label: string, attach: () => Promise<() => void>) => {
    stop();
    const gen = generation;
    say(`${label}: starting…`);
    try {
      const letGo = await attach();
      if (gen !== generation) return letGo();
      release = letGo;
      video.loop = true;
      await video.play();
    } catch (e) {
      if (gen === generation) {
        stop();
        say(`${label}: ${message(e)}`, true);
      }
      return;
    }
    stopButton.disabled = false;
    $('video-view').classList.add('on');
    document.body.dataset.video = 'on';
    say(
      timerNote.kind === 'gpu'
        ? `${label}: every frame goes straight from the video to the GPU; one inference after another`
        : `${label}: every frame is read from the video through a canvas and run on the CPU; one inference after another`,
    );
    await classifyFrames(gen, label);
  };

  const classifyFrames = async (gen: number, label: string) => {
    const rate = new FrameRate();
    const seen = new Set<string>();
    let frames = 0;
    while (gen === generation) {
      // A CPU run can settle without the page ever leaving the microtask queue (the wasm computes on this thread):
      // one turn of the event loop per frame keeps timers, the video, rendering and input alive.
      await nextTask();
      if (gen !== generation) return;
      // No frame yet (or a seek in progress): wait for one rather than spin.
      if (video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA) {
        await new Promise((ok) => setTimeout(ok, 30));
        continue;
      }
      let out: Awaited<ReturnType<typeof classify>>;
      try {
        out = await classify(model, [video], { preset, top: 5, labels: config.labels, timed: true });
      } catch (e) {
        if (gen === generation) {
          stop();
          say(`${label}: ${message(e)}`, true);
        }
        return;
      }
      if (gen !== generation) return;
      frames++;
      const fps = rate.tick(performance.now(), out.wallMs);
      const top = out.predictions[0]!;
      seen.add(top[0]!.label);
      fpsView.textContent = `${fps.toFixed(1)} frames/s · ${video.videoWidth}×${video.videoHeight} · frame ${frames}`;
      fpsView.dataset.fps = String(fps);
      fpsView.dataset.frames = String(frames);
      preds.replaceChildren(...predictionBars(top));
      preds.dataset.top1 = top[0]!.label;
      preds.dataset.seen = [...seen].join('|');
      timing.replaceChildren(timingView(out.stages, out.wallMs, timerNote));
    }
  };

  stopButton.addEventListener('click', () => {
    stop();
    say('stopped');
  });
  $('webcam').addEventListener('click', () =>
    void start('webcam', async () => {
      if (!navigator.mediaDevices?.getUserMedia) throw new Error('this browser offers no camera here: pick a video file or play the test clip');
      let stream: MediaStream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
      } catch (e) {
        throw new Error(`no webcam (${(e as Error).name ?? 'error'}: ${message(e)}): pick a video file or play the test clip instead`);
      }
      video.srcObject = stream;
      return () => stream.getTracks().forEach((t) => t.stop());
    }),
  );
  $<HTMLInputElement>('video-file').addEventListener('change', (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    void start(file.name, async () => {
      const url = URL.createObjectURL(file);
      video.src = url;
      return () => URL.revokeObjectURL(url);
    });
  });
  $('clip').addEventListener('click', () =>
    void start('test clip', async () => {
      const clip = await testClip(config);
      video.srcObject = clip.stream;
      return () => clip.stop();
    }),
  );
}

main().catch((e: unknown) => setStatus(`error: ${(e as Error).message ?? String(e)}`, 'error'));
