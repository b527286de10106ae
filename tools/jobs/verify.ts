/** `effnet verify`'s job: every stage output and the logits of one model against a reference dump (src/verify.ts). */
import { loadModel } from '../../src/api.js';
import type { AdapterReport } from '../../src/gpu.js';
import type { ArchSpec } from '../../src/model/tables.js';
import { parseSafetensors } from '../../src/safetensors.js';
import { verifyModel, type VerifyReport } from '../../src/verify.js';
import type { JobHost } from './host.js';

export interface VerifyJob {
  arch: ArchSpec;
  weights: string;
  /** The reference dump (.safetensors), as the host reads local files. */
  io: string;
}

export async function verifyJob(job: VerifyJob, host: JobHost): Promise<{ report: VerifyReport; adapter: AdapterReport }> {
  const model = await loadModel({ backend: 'webgpu', arch: job.arch, weights: job.weights });
  try {
    const dump = parseSafetensors(await host.read(job.io), { source: job.io });
    return { report: await verifyModel(model, dump), adapter: model.gpu.report };
  } finally {
    model.dispose();
  }
}
