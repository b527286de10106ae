/**
 * The `effnet demo` page: drop images, see the top-5 and where the GPU time of that inference went. The
 * engine runs here, in the browser; images are decoded by the browser (createImageBitmap) and preprocessed
 * on the GPU in the same submit as the network, whose passes carry timestamp queries.
 */
import { classify, decodeImage, formatAdapter, loadModel, PREPROCESS_TFJS, PREPROCESS_TORCHVISION, type Model, type StageTime } from '../../src/index.js';
import type { DemoConfig } from '../commands/demo.js';

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

function timingView(stages: StageTime[] | undefined, wallMs: number, timerNote: string): HTMLElement {
  const box = el('div', { className: 'timing' });
  if (!stages) {
    box.append(`${wallMs.toFixed(1)} ms wall time (this GPU has no timestamp-query: per-stage timing is unavailable)`);
    return box;
  }
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

async function main(): Promise<void> {
  setStatus('reading the configuration…', 'loading');
  const config = (await (await fetch('config.json')).json()) as DemoConfig;
  if (!('gpu' in navigator)) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
  setStatus(`loading ${config.arch} weights…`, 'loading');
  const t0 = performance.now();
  const model = await loadModel({ arch: config.arch, weights: new URL(config.weights, location.href).href });
  const loadMs = performance.now() - t0;
  const preset = config.preset === 'tfjs' ? PREPROCESS_TFJS : PREPROCESS_TORCHVISION;
  const adapter = formatAdapter(model.gpu.report);
  const timerNote = model.gpu.report.isFallback ? 'timestamp queries, software adapter' : 'timestamp queries';

  // The first inference compiles every pipeline; doing it now on a blank image keeps that out of the user's first drop.
  setStatus(`compiling kernels for ${config.arch} on ${adapter}…`, 'loading');
  const t1 = performance.now();
  const blank = { width: 8, height: 8, rgba: new Uint8Array(8 * 8 * 4).fill(128) };
  await classify(model, [blank], { preset, top: 1 });
  const compileMs = performance.now() - t1;
  setStatus(`ready: ${config.arch} on ${adapter} (weights ${(loadMs / 1000).toFixed(1)} s, kernels ${(compileMs / 1000).toFixed(1)} s)`, 'ready');

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
  model: Model, config: DemoConfig, preset: typeof PREPROCESS_TFJS, name: string, bytes: () => Promise<Uint8Array>, thumbnail: string, timerNote: string,
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
        ...preds.map((p, i) => {
          const bar = el('div', { className: i === 0 ? 'bar top1' : 'bar', textContent: p.label, title: `class ${p.index}: ${p.label}` });
          bar.style.setProperty('--p', `${(p.prob * 100).toFixed(1)}%`);
          return el('div', { className: 'pred' }, bar, el('span', { className: 'prob', textContent: `${(p.prob * 100).toFixed(1)}%` }));
        }),
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

main().catch((e: unknown) => setStatus(`error: ${(e as Error).message ?? String(e)}`, 'error'));
