/**
 * The CPU runtimes the `'cpu'` backend runs our written model files on, chosen by measurement (README: "Without
 * WebGPU"): in Node `onnxruntime-node` (its CPU binaries ship in its npm package; LiteRT.js does not load in Node,
 * it needs `document`), in browsers LiteRT.js (XNNPACK wasm; the threaded build when the page is cross-origin
 * isolated, one thread otherwise). Both are optional peer dependencies, loaded only when the CPU backend is used:
 * Node resolves `onnxruntime-node` from node_modules; a browser app hands over LiteRT.js's module and the URL
 * it serves LiteRT's wasm folder from (`loadModel({ cpu: { litert: () => import('@litertjs/core'), wasm } })`),
 * so an app that does not want the fallback bundles none of it.
 */
import { EffnetError } from '../errors.js';
import { isNode } from '../env.js';
import type { PeerFormat } from './model-files.js';

/** What a browser app passes so the CPU backend can run there (LiteRT.js is not bundled into ours). */
export interface CpuRuntimeOptions {
  /** LiteRT.js's module, as the app's bundler resolves it: `() => import('@litertjs/core')`. */
  litert?: () => Promise<unknown>;
  /**
   * The URL of LiteRT.js's wasm folder as the app serves it (a copy of `node_modules/@litertjs/core/wasm/`),
   * as LiteRT.js documents for `loadLiteRt`.
   */
  wasm?: string;
  /** Threads for the CPU runtime (default: Node 'auto' = ORT's own choice; browsers: navigator.hardwareConcurrency, capped at 4, when cross-origin isolated, else 1). */
  threads?: number;
}

/** One compiled model file for one input shape. */
export interface CpuSession {
  /** Input in the file's layout (ONNX: NCHW, TFLite: NHWC); the logits. */
  run(input: Float32Array): Promise<Float32Array>;
  release(): void;
}

export interface CpuRuntime {
  name: 'onnxruntime-node' | 'litert-wasm';
  /** The model file format it runs, and that format's input layout. */
  format: PeerFormat;
  layout: 'NCHW' | 'NHWC';
  /** e.g. 'onnxruntime-node 1.31.1, 2 threads'. */
  detail: string;
  /** `outputName`/`inputName`: the graph's output and input tensor names ('logits' and 'input' for the whole network). */
  compile(file: Uint8Array, inputShape: readonly number[], outputName: string, inputName?: string): Promise<CpuSession>;
  /**
   * The runtime's own per-node profiler, where it has one (onnxruntime-node: its trace file): `rounds` runs of the
   * whole-network file on `input`, each with its duration and its nodes' (as the runtime names them after its
   * fusions: our tensor names, plus the layout reorders it inserts) in execution order.
   */
  trace?(file: Uint8Array, inputShape: readonly number[], input: Float32Array, rounds: number): Promise<TracedRun[]>;
}

/** One run as the runtime's profiler saw it. */
export interface TracedRun {
  ms: number;
  nodes: { name: string; op: string; ms: number }[];
}

/** A Chrome trace event as onnxruntime writes them (cat 'Session': model_run; cat 'Node': `<node>_kernel_time`). */
interface TraceEvent {
  cat?: string;
  name?: string;
  ts?: number;
  dur?: number;
  args?: { op_name?: string };
}

/** Minimal views of the two runtimes' APIs (their own types are optional peers, absent from our declarations). */
interface OrtTensor {
  data: unknown;
}
interface OrtModule {
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(bytes: Uint8Array, opts: object): Promise<{ run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>; release(): Promise<void> }> };
  env?: { versions?: { node?: string } };
}
interface LiteRtTensorLike {
  toTypedArray(): unknown;
  delete(): void;
}
interface LiteRtModule {
  loadLiteRt(path: string, o?: { threads?: boolean }): Promise<unknown>;
  getGlobalLiteRtPromise?(): Promise<unknown> | undefined;
  loadAndCompile(model: Uint8Array, o: object): Promise<{ run(input: LiteRtTensorLike): Promise<LiteRtTensorLike[]>; delete(): void }>;
  Tensor: new (data: Float32Array, shape: readonly number[]) => LiteRtTensorLike;
}

let nodeRuntime: Promise<CpuRuntime> | undefined;
const litertLoads = new WeakMap<object, Promise<void>>();

/**
 * The CPU runtime of this platform, or a CPU_RUNTIME error naming what to install or pass. It loads nothing of
 * a runtime that is not used.
 */
export async function cpuRuntime(o: CpuRuntimeOptions = {}): Promise<CpuRuntime> {
  if (o.threads !== undefined && !(Number.isInteger(o.threads) && o.threads >= 1 && o.threads <= 256)) {
    throw new EffnetError('INPUT', `cpu.threads must be an integer from 1 to 256, got ${String(o.threads)}`);
  }
  return isNode ? (o.threads === undefined ? (nodeRuntime ??= onnxRuntimeNode()) : onnxRuntimeNode(o.threads)) : liteRtBrowser(o);
}

async function onnxRuntimeNode(threads?: number): Promise<CpuRuntime> {
  let ort: OrtModule;
  try {
    const m = (await import('onnxruntime-node' as string)) as OrtModule & { default?: OrtModule };
    ort = m.InferenceSession ? m : m.default!;
  } catch (cause) {
    nodeRuntime = undefined;
    throw new EffnetError('CPU_RUNTIME', 'the CPU backend in Node runs on onnxruntime-node, which is not installed: `npm install onnxruntime-node` (its CPU binaries ship in the package; ONNXRUNTIME_NODE_INSTALL=skip skips its optional GPU download)', { cause });
  }
  const version = (ort.env?.versions?.node ?? '').trim();
  return {
    name: 'onnxruntime-node',
    format: 'onnx',
    layout: 'NCHW',
    detail: `onnxruntime-node${version ? ` ${version}` : ''}, ${threads ?? 'its default'} intra-op thread${threads === 1 ? '' : 's'}`,
    async compile(file, inputShape, outputName, inputName = 'input') {
      const session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', ...(threads ? { intraOpNumThreads: threads } : {}) });
      return {
        async run(input) {
          const out = await session.run({ [inputName]: new ort.Tensor('float32', input, inputShape) });
          const t = out[outputName];
          if (!t || !(t.data instanceof Float32Array)) throw new EffnetError('CPU_RUNTIME', `onnxruntime-node returned no float32 '${outputName}'`);
          return t.data;
        },
        release: () => void session.release(),
      };
    },
    async trace(file, inputShape, input, rounds) {
      const { tmpdir } = await import('node:os');
      const { join, basename, dirname } = await import('node:path');
      const fs = await import('node:fs/promises');
      const prefix = join(tmpdir(), `effnet-ort-trace-${process.pid}-${Math.random().toString(36).slice(2)}`);
      const session = await ort.InferenceSession.create(file, {
        executionProviders: ['cpu'], graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: prefix, ...(threads ? { intraOpNumThreads: threads } : {}),
      }) as unknown as { run(f: Record<string, OrtTensor>): Promise<unknown>; endProfiling(): unknown; release(): Promise<void> };
      let events: TraceEvent[];
      try {
        for (let r = 0; r < rounds; r++) await session.run({ input: new ort.Tensor('float32', input, inputShape) });
      } finally {
        // Writes `<prefix>_<date>.json` (onnxruntime-node returns nothing from it).
        session.endProfiling();
        await session.release();
        const files = (await fs.readdir(dirname(prefix))).filter((f) => f.startsWith(`${basename(prefix)}_`) && f.endsWith('.json'));
        try {
          const f = files[0];
          if (!f) throw new EffnetError('CPU_RUNTIME', `onnxruntime-node wrote no profile under ${prefix}_*.json`);
          events = JSON.parse(await fs.readFile(join(dirname(prefix), f), 'utf8')) as TraceEvent[];
        } finally {
          for (const f of files) await fs.rm(join(dirname(prefix), f), { force: true });
        }
      }
      const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts! - b.ts!);
      const nodes = events.filter((e) => e.cat === 'Node' && e.name?.endsWith('_kernel_time')).sort((a, b) => a.ts! - b.ts!);
      if (runs.length !== rounds) throw new EffnetError('CPU_RUNTIME', `onnxruntime-node's profile holds ${runs.length} runs, expected ${rounds}`);
      return runs.map((r) => ({
        ms: r.dur! / 1000,
        nodes: nodes.filter((n) => n.ts! >= r.ts! && n.ts! <= r.ts! + r.dur!).map((n) => ({ name: n.name!.slice(0, -'_kernel_time'.length), op: n.args?.op_name ?? '', ms: n.dur! / 1000 })),
      }));
    },
  };
}

async function liteRtBrowser(o: CpuRuntimeOptions): Promise<CpuRuntime> {
  if (typeof o.litert !== 'function' || typeof o.wasm !== 'string' || o.wasm === '') {
    throw new EffnetError(
      'CPU_RUNTIME',
      "the CPU backend in a browser runs on LiteRT.js: `npm install @litertjs/core`, serve its wasm folder (node_modules/@litertjs/core/wasm/) and pass loadModel({ cpu: { litert: () => import('@litertjs/core'), wasm: '/litert-wasm/' } })",
    );
  }
  let lr: LiteRtModule;
  try {
    const m = (await o.litert()) as LiteRtModule & { default?: LiteRtModule };
    lr = typeof m.loadAndCompile === 'function' ? m : m.default!;
    if (typeof lr?.loadAndCompile !== 'function') throw new Error('the module has no loadAndCompile (is it @litertjs/core?)');
  } catch (cause) {
    throw new EffnetError('CPU_RUNTIME', `cpu.litert() did not give LiteRT.js's module: ${(cause as Error).message}`, { cause });
  }
  const g = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  // The threaded build needs SharedArrayBuffer, which only a cross-origin isolated page has.
  const isolated = g.crossOriginIsolated === true;
  const threads = isolated ? (o.threads ?? Math.min(4, g.navigator?.hardwareConcurrency ?? 1)) : 1;
  // LiteRT.js keeps one global instance: loaded once per module object.
  let loaded = litertLoads.get(lr);
  if (!loaded) {
    loaded = (lr.getGlobalLiteRtPromise?.() ?? lr.loadLiteRt(o.wasm, { threads: isolated })).then(() => undefined);
    litertLoads.set(lr, loaded);
    loaded.catch(() => litertLoads.delete(lr));
  }
  try {
    await loaded;
  } catch (cause) {
    throw new EffnetError('CPU_RUNTIME', `LiteRT.js could not load its wasm from ${o.wasm}: ${(cause as Error).message}`, { cause });
  }
  return {
    name: 'litert-wasm',
    format: 'tflite',
    layout: 'NHWC',
    detail: `LiteRT.js wasm (XNNPACK), ${threads} thread${threads === 1 ? '' : 's'}${isolated ? '' : ' (the page is not cross-origin isolated)'}`,
    async compile(file, inputShape) {
      const model = await lr.loadAndCompile(file, { accelerator: 'wasm', cpuOptions: { numThreads: threads } });
      return {
        async run(input) {
          const t = new lr.Tensor(input, inputShape);
          const outputs: LiteRtTensorLike[] = [];
          try {
            outputs.push(...(await model.run(t)));
            const data = outputs[0]?.toTypedArray();
            if (!(data instanceof Float32Array)) throw new EffnetError('CPU_RUNTIME', 'LiteRT.js returned no float32 output');
            return data.slice();
          } finally {
            t.delete();
            for (const out of outputs) out.delete();
          }
        },
        release: () => model.delete(),
      };
    },
  };
}
