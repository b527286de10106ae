/**
 * `effnet classify`'s job: top-k classes of image files, in batches. One bad image is reported on its own and the
 * others are still classified.
 */
import { loadModel } from '../../src/api.js';
import { classifyEach, classifyPreset, classifySize, type Prediction } from '../../src/classify.js';
import { formatAdapter } from '../../src/gpu.js';
import type { DecodedImage } from '../../src/image/decode.js';
import { getArch } from '../../src/model/tables.js';
import type { JobHost } from './host.js';

export interface ClassifyJob {
  /** Undefined: the architecture the weights name. */
  arch: string | undefined;
  weights: string;
  /** The weights as progress lines describe them. */
  weightsNote: string;
  /** Each image as reported (`name`) and as the host reads it (`file`). */
  images: { name: string; file: string }[];
  top: number;
  batchSize: number;
  maxPixels: number;
  labels: string[];
  /** Also measure the GPU memory the last batch's schedule holds (WebGPU backend only). */
  memory: boolean;
  /** loadModel's backend ('auto' by default: the CPU runtime on a software adapter when one is installed). */
  backend: 'auto' | 'webgpu' | 'cpu';
}

export type ClassifyResult = { image: string; top?: Prediction[]; error?: string };

export interface Classified {
  results: ClassifyResult[];
  seconds: number;
  memory: { weightBytes: number; peakBytes: number; naiveBytes: number } | null;
}

export async function classifyJob(job: ClassifyJob, host: JobHost): Promise<Classified> {
  const model = await loadModel({ ...(job.arch ? { arch: getArch(job.arch) } : {}), weights: job.weights, backend: job.backend });
  try {
    const on = 'gpu' in model ? formatAdapter(model.gpu.report) : `the CPU: ${model.backend.detail}`;
    host.log(`${model.spec.name} ${host.where(`${job.weightsNote}, ${model.preprocess} preprocessing`)} on ${on}`);
    host.log(`backend: ${model.backend.name} (${model.backend.runtime}), because ${model.backend.reason}`);
    const preset = classifyPreset(model);
    const results: ClassifyResult[] = [];
    const t0 = performance.now();
    let lastBatch = 0;
    for (let i = 0; i < job.images.length; i += job.batchSize) {
      const decoded: { name: string; image: DecodedImage }[] = [];
      for (const { name, file } of job.images.slice(i, i + job.batchSize)) {
        try {
          decoded.push({ name, image: await host.image(file, name, { maxPixels: job.maxPixels }) });
        } catch (e) {
          results.push({ image: name, error: (e as Error).message });
          host.log(`skipped ${name}: ${(e as Error).message}`);
        }
      }
      const outcomes = await classifyEach(model, decoded.map((d) => d.image), { preset, top: job.top, labels: job.labels });
      decoded.forEach((d, j) => {
        const o = outcomes[j]!;
        results.push({ image: d.name, ...o });
        if ('error' in o) host.log(`failed ${d.name}: ${o.error}`);
      });
      if (decoded.length) lastBatch = decoded.length;
      host.progress(Math.min(i + job.batchSize, job.images.length), job.images.length);
    }
    const seconds = (performance.now() - t0) / 1000;
    if (!job.memory || !lastBatch || !('gpu' in model)) return { results, seconds, memory: null };
    // The schedule the last batch ran on (so this compiles nothing, nor waits for the tuned tier).
    const res = classifySize(model, preset);
    const arena = await model.activationArena(lastBatch, res, res, 'nhwc', true);
    return { results, seconds, memory: { weightBytes: model.weightBytes, peakBytes: arena.peakBytes, naiveBytes: arena.naiveBytes } };
  } finally {
    model.dispose();
  }
}
