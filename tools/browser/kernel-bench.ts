/**
 * `effnet kernel-bench --host chrome`: the benchmark as a page global the CLI calls with page.evaluate. It
 * returns the report or the error (code and message) as plain data, so the CLI prints the same one line it
 * would in Node.
 */
import { loadModel } from '../../src/api.js';
import { isEffnetError, type ErrorCode } from '../../src/errors.js';
import { formatAdapter } from '../../src/gpu.js';
import { kernelBench, type KernelBenchOptions, type KernelBenchReport } from '../../src/kernel-bench/bench.js';
import { checkUserKernel, type BenchOp } from '../../src/kernel-bench/contract.js';
import { getArch } from '../../src/model/tables.js';

export async function effnetKernelBench(
  arch: string, op: BenchOp, source: string, label: string, opts: KernelBenchOptions,
): Promise<{ report: KernelBenchReport } | { error: { code: ErrorCode | null; message: string } }> {
  try {
    const user = checkUserKernel(op, source, label);
    const model = await loadModel({ arch: getArch(arch), weights: 'random', quickStart: false });
    try {
      console.log(`effnet: ${model.spec.name} in headless Chromium on ${formatAdapter(model.gpu.report)}`);
      return { report: await kernelBench(model, user, { ...opts, log: (s) => console.log(`effnet: ${s}`) }) };
    } finally {
      model.dispose();
    }
  } catch (e) {
    return { error: { code: isEffnetError(e) ? e.code : null, message: e instanceof Error ? e.message : String(e) } };
  }
}

(globalThis as unknown as { effnetKernelBench: typeof effnetKernelBench }).effnetKernelBench = effnetKernelBench;
