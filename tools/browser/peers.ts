/**
 * Browser side of `effnet bench`: one engine per page (the CLI opens a fresh page for every row so GPU
 * memory, pipeline caches and wasm heaps never carry over between measurements). The CLI drives it phase
 * by phase (open, infer, output, close) so that it can log progress and enforce the time budget; every
 * time reported here is measured inside the page with performance.now().
 *
 * One inference, for every engine alike: from a Float32Array on the CPU to a Float32Array on the CPU
 * (wrap/upload the input, run, read the output back, release the per-run tensors).
 */
import * as ort from 'onnxruntime-web';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as litert from '@litertjs/core';
import { loadAndCompile, loadLiteRt, Tensor as LiteRtTensor } from '@litertjs/core';
import { loadModel } from '../../src/api.js';
import { acquireGpu, type AdapterReport } from '../../src/gpu.js';
import type { TuningFile } from '../../src/tuning/file.js';
import { getArch, validateArch, type ArchSpec } from '../../src/model/tables.js';

export type EngineName = 'effnet-webgpu' | 'effnet-cpu' | 'ort-webgpu' | 'ort-wasm' | 'tfjs-webgpu' | 'tfjs-wasm' | 'litert-webgpu' | 'litert-wasm';

export interface OpenSpec {
  engine: EngineName;
  /** Our engine's zoo name, or the stage table itself for a custom one (for effnet-webgpu and effnet-cpu). */
  arch: string | ArchSpec;
  /** Weights (ours: effnet-webgpu and effnet-cpu), .onnx (ORT), model.json (TF.js) or .tflite (LiteRT), as a URL on the bench server. */
  modelUrl: string;
  inputUrl: string;
  shape: number[];
  layout: 'NCHW' | 'NHWC';
  /** What our engine returns: the torchvision models' logits or the TF-Hub graph's probabilities. */
  output: 'logits' | 'probabilities';
  /** Served folders holding onnxruntime-web's, tfjs-backend-wasm's and LiteRT.js's .wasm/.js files. */
  ortAssets: string;
  tfjsWasmAssets: string;
  litertAssets: string;
  /** Our engine's schedule: the target ('auto': by the adapter) and a tuning file (`effnet bench --tuning`). */
  target: 'auto' | 'gpu' | 'fallback';
  tuning?: TuningFile;
}

interface Runner {
  /** What actually runs (execution provider / backend / adapter), for the report. */
  detail: string;
  infer(x: Float32Array): Promise<Float32Array>;
  /** Resolves once work the engine still does in the background after its first inference is done. */
  settle?(): Promise<void>;
  dispose(): Promise<void> | void;
}

async function openEngine(s: OpenSpec): Promise<Runner> {
  const threads = navigator.hardwareConcurrency;
  switch (s.engine) {
    case 'effnet-webgpu': {
      const model = await loadModel({ backend: 'webgpu', arch: typeof s.arch === 'string' ? getArch(s.arch) : validateArch(s.arch), weights: s.modelUrl, target: s.target, tuning: s.tuning ?? 'none' });
      const probabilities = s.output === 'probabilities';
      const [batch, a, b, c] = s.shape as [number, number, number, number];
      const [height, width] = s.layout === 'NCHW' ? [b, c] : [a, b];
      return {
        detail:
          `${model.gpu.report.vendor} ${model.gpu.report.description}`.trim() +
          `, ${model.schedule.target} target, ${model.schedule.tuning.entries ? `tuned (${model.schedule.tuning.entries} launches)` : 'planned tiles (no tuning)'}`,
        infer: (x) => model.run({ data: x, shape: s.shape, layout: s.layout }, { probabilities }),
        // Quick start answers the first run from quick-tier pipelines and compiles the tuned ones after it;
        // prepare() waits for those, so the steady-state runs are the tuned schedule's.
        settle: () => model.prepare({ batch, height, width, layout: s.layout }, { probabilities }),
        dispose: () => model.dispose(),
      };
    }
    case 'effnet-cpu': {
      // Our CPU fallback as an app configures it: the TFLite file our package writes (in this page, from the
      // weights) run by LiteRT.js's wasm build from the same served folder as the litert-wasm peer, with the
      // same threads (the threaded build when the page is cross-origin isolated, as the peer decides).
      const threaded = globalThis.crossOriginIsolated === true;
      const model = await loadModel({
        backend: 'cpu', arch: typeof s.arch === 'string' ? getArch(s.arch) : validateArch(s.arch), weights: s.modelUrl,
        cpu: { litert: async () => litert, wasm: s.litertAssets, threads: threaded ? threads : 1 },
      });
      const probabilities = s.output === 'probabilities';
      return {
        detail: `loadModel({ backend: 'cpu' }): ${model.backend.detail}`,
        infer: (x) => model.run({ data: x, shape: s.shape, layout: s.layout }, { probabilities }),
        dispose: () => model.dispose(),
      };
    }
    case 'ort-webgpu':
    case 'ort-wasm': {
      ort.env.wasm.wasmPaths = s.ortAssets;
      ort.env.wasm.numThreads = threads;
      const ep = s.engine === 'ort-webgpu' ? 'webgpu' : 'wasm';
      const session = await ort.InferenceSession.create(s.modelUrl, { executionProviders: [ep], graphOptimizationLevel: 'all' });
      const [inputName] = session.inputNames;
      const [outputName] = session.outputNames;
      return {
        detail: ep === 'wasm' ? `wasm EP, ${threads} threads` : 'webgpu EP',
        async infer(x) {
          const result = await session.run({ [inputName!]: new ort.Tensor('float32', x, s.shape) });
          const out = result[outputName!]!;
          const data = (await out.getData()) as Float32Array;
          out.dispose();
          return data;
        },
        dispose: () => session.release(),
      };
    }
    case 'tfjs-webgpu':
    case 'tfjs-wasm': {
      const backend = s.engine === 'tfjs-webgpu' ? 'webgpu' : 'wasm';
      if (backend === 'wasm') {
        setWasmPaths(s.tfjsWasmAssets);
        setThreadsCount(threads);
      }
      if (!(await tf.setBackend(backend))) throw new Error(`TensorFlow.js could not initialise its ${backend} backend`);
      await tf.ready();
      const model = await tf.loadGraphModel(s.modelUrl);
      return {
        detail: `${backend} backend${backend === 'wasm' ? `, ${threads} threads` : ''}`,
        async infer(x) {
          const input = tf.tensor(x, s.shape, 'float32');
          const out = model.execute(input) as tf.Tensor;
          try {
            return (await out.data()) as Float32Array;
          } finally {
            tf.dispose([input, out]);
          }
        },
        dispose: () => model.dispose(),
      };
    }
    case 'litert-webgpu':
    case 'litert-wasm': {
      const accelerator = s.engine === 'litert-webgpu' ? 'webgpu' : 'wasm';
      // The threaded build needs SharedArrayBuffer (the bench server sends COOP/COEP, so the page is
      // cross-origin isolated); it is what LiteRT's XNNPACK path runs multi-threaded with.
      const threaded = globalThis.crossOriginIsolated === true;
      await loadLiteRt(s.litertAssets, { threads: threaded });
      const model = await loadAndCompile(s.modelUrl, { accelerator, ...(accelerator === 'wasm' ? { cpuOptions: { numThreads: threaded ? threads : 1 } } : {}) });
      if (accelerator === 'webgpu' && !model.isFullyAccelerated) {
        model.delete();
        throw new Error('LiteRT could not run the whole model on WebGPU (it would fall back to wasm for part of it)');
      }
      return {
        detail: accelerator === 'wasm' ? `wasm (XNNPACK), ${threaded ? threads : 1} thread${threaded && threads > 1 ? 's' : ''}` : 'webgpu accelerator',
        async infer(x) {
          const input = new LiteRtTensor(x, s.shape);
          const outputs: LiteRtTensor[] = [];
          try {
            outputs.push(...(await model.run(input)));
            const out = outputs[0]!;
            if (out.accelerator === 'wasm') return (out.toTypedArray() as Float32Array).slice();
            // GPU results are read back through a copy on the CPU side, which is part of one inference here.
            const cpu = await out.copyTo('wasm');
            try {
              return (cpu.toTypedArray() as Float32Array).slice();
            } finally {
              cpu.delete();
            }
          } finally {
            input.delete();
            for (const o of outputs) o.delete();
          }
        },
        dispose: () => model.delete(),
      };
    }
  }
}

let current: { runner: Runner; input: Float32Array; last?: Float32Array } | undefined;

const api = {
  /** The adapter our engine sees in this browser (the report's header). */
  async adapter(): Promise<AdapterReport> {
    const gpu = await acquireGpu();
    try {
      return gpu.report;
    } finally {
      gpu.destroy();
    }
  },

  /** Load the engine and model; loadMs covers runtime/backend start-up, fetching and preparing the model. */
  async open(spec: OpenSpec): Promise<{ loadMs: number; detail: string }> {
    if (current) throw new Error('an engine is already open on this page');
    const response = await fetch(spec.inputUrl);
    if (!response.ok) throw new Error(`bench input ${spec.inputUrl}: HTTP ${response.status}`);
    const input = new Float32Array(await response.arrayBuffer());
    const t0 = performance.now();
    const runner = await openEngine(spec);
    const loadMs = performance.now() - t0;
    current = { runner, input };
    return { loadMs, detail: runner.detail };
  },

  async infer(): Promise<number> {
    if (!current) throw new Error('no engine is open on this page');
    const t0 = performance.now();
    const out = await current.runner.infer(current.input);
    const ms = performance.now() - t0;
    current.last = out;
    return ms;
  },

  /** Milliseconds spent waiting for the engine's background work after the first inference (0: none). */
  async settle(): Promise<number> {
    if (!current) throw new Error('no engine is open on this page');
    const t0 = performance.now();
    await current.runner.settle?.();
    return performance.now() - t0;
  },

  /** The last inference's output (plain numbers: typed arrays do not survive puppeteer's serialisation). */
  output(): number[] {
    if (!current?.last) throw new Error('nothing has run on this page yet');
    return Array.from(current.last);
  },

  async close(): Promise<void> {
    const c = current;
    current = undefined;
    await c?.runner.dispose();
  },
};

export type PeersPageApi = typeof api;
(globalThis as unknown as { effnetPeers: PeersPageApi }).effnetPeers = api;
