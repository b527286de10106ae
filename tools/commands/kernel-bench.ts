/**
 * `effnet kernel-bench`: bring your own WGSL kernel for one op kind; it is checked against the op's contract
 * (kernels/README.md, "Bring your own kernel") before anything runs, then verified against the float64 CPU
 * reference and timed against ours on every distinct layer shape of the model, and swapped into the whole
 * network (src/kernel-bench/). In Node (Dawn) or headless Chromium. Exit code 1 when any shape is incorrect.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import type { Command } from '../command.js';
import { intFlag, parseFlags } from '../harness/index.js';
import { loadModel } from '../../src/api.js';
import { EffnetError, type ErrorCode } from '../../src/errors.js';
import { formatAdapter } from '../../src/gpu.js';
import { kernelBench, type KernelBenchOptions, type KernelBenchReport } from '../../src/kernel-bench/bench.js';
import { BENCH_OPS, benchOp, checkUserKernel, type BenchOp } from '../../src/kernel-bench/contract.js';
import { getArch } from '../../src/model/tables.js';
import { openChromeHost } from '../host.js';
import { kernelBenchHtml, kernelBenchMarkdown } from '../report/kernel-bench.js';

const USAGE =
  `effnet kernel-bench --op ${BENCH_OPS.join('|')} --kernel my_kernel.wgsl [--arch efficientnet_b0] [--res R] [--batch N]\n` +
  '                    [--runs 5] [--host node|chrome] [--json] [--out report.html|report.md|report.json]\n\n' +
  '  Checks the kernel against the op\'s contract (bindings, Params fields, a `// Dispatch:` header line; see\n' +
  '  kernels/README.md), then for every distinct layer shape of the model: correctness against the float64 CPU\n' +
  '  reference and GPU time against our kernel; then the whole network with it swapped in (latency, logits relL2).\n' +
  '  Exit code 1 when the kernel is incorrect on any shape (the full report is still printed).';

export const kernelBenchCommand: Command = {
  name: 'kernel-bench',
  summary: 'Verify and time your own WGSL kernel for one op on every layer shape of a model, and in the whole network',
  usage: USAGE,
  async run(args) {
    const { flags, positionals } = parseFlags(args, {
      strings: ['op', 'kernel', 'arch', 'res', 'batch', 'runs', 'host', 'out'],
      booleans: ['json'],
    });
    if (positionals.length) throw new Error(`unexpected argument '${positionals[0]}' (usage: ${USAGE.split('\n')[0]})`);
    if (flags.op === undefined || flags.kernel === undefined) throw new Error(`kernel-bench needs --op and --kernel\nusage: ${USAGE}`);
    const op = benchOp(flags.op as string);
    const path = resolve(flags.kernel as string);
    if (extname(path) !== '.wgsl') throw new Error(`--kernel ${flags.kernel}: expected a .wgsl file (one kernel, its dispatch in a '// Dispatch:' header line)`);
    const source = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new EffnetError('IO', `cannot read --kernel ${flags.kernel}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
    });
    const label = basename(path);
    // The contract check needs no GPU: a malformed kernel fails here, in one line, before a browser or device starts.
    checkUserKernel(op, source, label);
    const arch = getArch((flags.arch as string | undefined) ?? 'efficientnet_b0').name;
    const res = intFlag(flags.res, 'res', getArch(arch).resolution);
    if (res < 8) throw new Error(`--res must be at least 8 (EfficientNet downsamples 32×), got ${res}`);
    const opts: KernelBenchOptions = { res, batch: intFlag(flags.batch, 'batch', 1), runs: intFlag(flags.runs, 'runs', 5) };
    const host = (flags.host as string | undefined) ?? 'node';
    if (host !== 'node' && host !== 'chrome') throw new Error(`--host must be node or chrome, got ${host}`);
    const out = flags.out === undefined ? undefined : resolve(flags.out as string);
    const format = out && outputFormat(out);
    const log = (s: string) => process.stderr.write(`effnet: ${s}\n`);
    const report = host === 'node' ? await inNode(arch, op, source, label, opts, log) : await inChrome(arch, op, source, label, opts, log);
    if (flags.json) console.log(JSON.stringify(report, null, 1));
    else console.log(kernelBenchMarkdown(report));
    if (out) {
      await writeFile(out, format === '.json' ? JSON.stringify(report, null, 1) + '\n' : format === '.md' ? kernelBenchMarkdown(report) : await kernelBenchHtml(report));
      log(`wrote ${out}`);
    }
    return report.ok ? 0 : 1;
  },
};

async function inNode(arch: string, op: BenchOp, source: string, label: string, opts: KernelBenchOptions, log: (s: string) => void): Promise<KernelBenchReport> {
  // Tuned pipelines from the start: the schedule benchmarked is the one every run takes once compiled.
  const model = await loadModel({ arch: getArch(arch), weights: 'random', quickStart: false });
  try {
    log(`${model.spec.name} (random weights) on ${formatAdapter(model.gpu.report)}`);
    return await kernelBench(model, checkUserKernel(op, source, label), { ...opts, log });
  } finally {
    model.dispose();
  }
}

type PageResult = { report: KernelBenchReport } | { error: { code: ErrorCode | null; message: string } };

async function inChrome(arch: string, op: BenchOp, source: string, label: string, opts: KernelBenchOptions, log: (s: string) => void): Promise<KernelBenchReport> {
  log('starting headless Chromium');
  const host = await openChromeHost((line) => process.stderr.write(line.replace(/^\[chrome log\] /, '') + '\n'));
  try {
    await host.session.page.addScriptTag({ url: '/kernel-bench.js', type: 'module' });
    await host.session.page.waitForFunction('globalThis.effnetKernelBench !== undefined');
    const result = await host.session.page.evaluate(
      (a, o, src, l, options) => (globalThis as unknown as { effnetKernelBench: typeof import('../browser/kernel-bench.js').effnetKernelBench }).effnetKernelBench(a, o, src, l, options),
      arch, op, source, label, opts,
    ) as PageResult;
    if ('error' in result) throw result.error.code ? new EffnetError(result.error.code, result.error.message) : new Error(result.error.message);
    return result.report;
  } finally {
    await host.close();
  }
}

function outputFormat(out: string): string {
  const ext = extname(out).toLowerCase();
  if (!['.json', '.md', '.html'].includes(ext)) throw new Error(`--out ${out}: unsupported extension '${ext || '(none)'}'; use .json, .md or .html`);
  if (!existsSync(dirname(out))) throw new Error(`--out ${out}: folder ${dirname(out)} does not exist`);
  return ext;
}
