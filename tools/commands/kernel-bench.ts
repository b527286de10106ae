/**
 * `effnet kernel-bench`: bring your own WGSL kernel for one op kind; it is checked against the op's contract
 * (kernels/README.md, "Bring your own kernel") before anything runs, then verified against the float64 CPU
 * reference and timed against ours on every distinct layer shape of the model and on generated edge launches,
 * and swapped into the whole network (src/kernel-bench/). In Node (Dawn) or headless Chromium. Exit code 1 when
 * the kernel is incorrect on any shape or the network with it disagrees with the stock one.
 */
import { fork } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { outputFormat, resFlag, type Command } from '../command.js';
import { intFlag, parseFlags } from '../harness/index.js';
import { EffnetError, type ErrorCode } from '../../src/errors.js';
import { readAll } from '../../src/io/read.js';
import { DEFAULT_TIMEOUT_S, SHAPE_SETS, type KernelBenchOptions, type KernelBenchReport, type ShapeSet } from '../../src/kernel-bench/bench.js';
import { BENCH_OPS, benchOp, checkUserKernel } from '../../src/kernel-bench/contract.js';
import { getArch } from '../../src/model/tables.js';
import { hostFlag, runJob, type HostName } from '../host.js';
import { webgpuOnly } from '../webgpu-only.js';
import { kernelBenchHtml } from '../report/html.js';
import { kernelBenchMarkdown } from '../report/kernel-bench.js';

const USAGE =
  `effnet kernel-bench --op ${BENCH_OPS.join('|')} --kernel my_kernel.wgsl [--arch efficientnet_b0] [--res R] [--batch N]\n` +
  `                    [--runs 5] [--shapes ${SHAPE_SETS.join('|')}] [--layers features.2,features.3.0] [--no-network]\n` +
  `                    [--timeout-s ${DEFAULT_TIMEOUT_S}] [--backend webgpu|auto] [--host node|chrome] [--json]\n` +
  '                    [--out report.html|report.md|report.json]\n\n' +
  '  Checks the kernel against the op\'s contract (bindings, Params fields, a `// Dispatch:` header line; see\n' +
  '  kernels/README.md), then for every distinct layer shape of the model and generated edge launches (--shapes):\n' +
  '  correctness against the float64 CPU reference (outputs NaN-filled first, each launch run twice), GPU time against\n' +
  '  our kernel; then the whole network with it swapped in (latency, logits relL2). --layers keeps the launches of\n' +
  '  those layers (module names or prefixes) and --no-network skips the network, to iterate on one shape fast. A\n' +
  '  dispatch still running after --timeout-s seconds is abandoned with an error. Exit code 1 when the kernel is\n' +
  '  incorrect on any launch or in the network.';

/** The most bytes a kernel file may have: WGSL sources are kilobytes; this only stops a wrong path early. */
const MAX_KERNEL_BYTES = 1 << 20;

/** In the Node worker process (see `inWorker`), set to the report's channel. */
const WORKER_ENV = 'EFFNET_KERNEL_BENCH_WORKER';

type WorkerMessage = { report: KernelBenchReport } | { error: { code: ErrorCode | null; message: string } };

/** `--out` can be written: checked before the bench, which otherwise runs for minutes and then cannot report. */
async function checkWritable(out: string): Promise<void> {
  const fail = (why: string) => new EffnetError('IO', `cannot write --out ${out}: ${why}`);
  const st = await stat(out).catch(() => undefined);
  if (st && !st.isFile()) throw fail('not a regular file');
  await access(st ? out : dirname(out), constants.W_OK).catch(() => {
    throw fail(st ? 'permission denied' : `folder ${dirname(out)} is not writable`);
  });
}

/**
 * In Node the bench runs in a child process: a user's kernel that never finishes holds the GPU queue (and Dawn's
 * teardown waits on it), so once the bench's deadline reports it, the CLI kills the process that holds the device
 * instead of waiting on it. The child sends its report or error, then waits to be killed.
 */
function inWorker(args: string[]): Promise<KernelBenchReport> {
  return new Promise((ok, fail) => {
    // Structured clone, not JSON: the report's NaN (an error over a NaN output) must arrive as NaN.
    const child = fork(process.argv[1]!, ['kernel-bench', ...args], {
      env: { ...process.env, [WORKER_ENV]: '1' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    let settled = false;
    child.on('message', (m: WorkerMessage) => {
      settled = true;
      child.kill('SIGKILL');
      if ('report' in m) ok(m.report);
      else fail(m.error.code ? new EffnetError(m.error.code, m.error.message) : new Error(m.error.message));
    });
    child.on('exit', (code, signal) => {
      if (!settled) fail(new Error(`the kernel-bench worker process ended (${signal ?? `exit code ${code}`}) without a report`));
    });
  });
}

/** The worker's side: run the job here and hand the outcome to the parent. */
async function asWorker(run: () => Promise<KernelBenchReport>): Promise<never> {
  // A parent that is gone (killed, Ctrl-C) takes this process with it, device and all.
  process.once('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  const message: WorkerMessage = await run().then(
    (report) => ({ report }),
    (e: unknown) => ({ error: { code: e instanceof EffnetError ? e.code : null, message: e instanceof Error ? e.message : String(e) } }),
  );
  process.send!(message);
  // The parent kills this process once it has the message; nothing here may exit first and wait on the device.
  return new Promise<never>(() => undefined);
}

export const kernelBenchCommand: Command = {
  name: 'kernel-bench',
  summary: 'Verify and time your own WGSL kernel for one op on every layer shape of a model, edge shapes, and in the whole network',
  usage: USAGE,
  async run(args) {
    const { flags, positionals } = parseFlags(args, { strings: ['op', 'kernel', 'arch', 'res', 'batch', 'runs', 'shapes', 'layers', 'timeout-s', 'host', 'out', 'backend'], booleans: ['json', 'no-network'] });
    // (The Node worker re-reads these arguments: only the parent says it.)
    webgpuOnly('kernel-bench', flags.backend, process.env[WORKER_ENV] ? undefined : (s) => process.stderr.write(`effnet: ${s}\n`));
    if (positionals.length) throw new Error(`unexpected argument '${positionals[0]}' (usage: ${USAGE.split('\n')[0]})`);
    if (flags.op === undefined || flags.kernel === undefined) throw new Error(`kernel-bench needs --op and --kernel\nusage: ${USAGE}`);
    const op = benchOp(flags.op as string);
    const path = resolve(flags.kernel as string);
    if (extname(path) !== '.wgsl') throw new Error(`--kernel ${flags.kernel}: expected a .wgsl file (one kernel, its dispatch in a '// Dispatch:' header line)`);
    // The one reading policy: a FIFO or device is refused at once, never waited on.
    const source = new TextDecoder().decode(await readAll(path, { what: 'kernel', maxBytes: MAX_KERNEL_BYTES }));
    const label = basename(path);
    // The contract check needs no GPU: a malformed kernel fails here, in one line, before a browser or device starts.
    checkUserKernel(op, source, label);
    const arch = getArch((flags.arch as string | undefined) ?? 'efficientnet_b0').name;
    const res = resFlag(flags.res, getArch(arch).resolution);
    const shapes = ((flags.shapes as string | undefined) ?? 'all') as ShapeSet;
    if (!SHAPE_SETS.includes(shapes)) throw new Error(`--shapes must be one of ${SHAPE_SETS.join(', ')}, got '${flags.shapes}'`);
    const timeoutS = flags['timeout-s'] === undefined ? DEFAULT_TIMEOUT_S : Number(flags['timeout-s']);
    if (!(timeoutS > 0 && timeoutS <= 3600)) throw new Error(`--timeout-s must be a number of seconds in (0, 3600], got '${flags['timeout-s']}'`);
    const layers = flags.layers === undefined ? undefined : String(flags.layers).split(',').map((l) => l.trim()).filter(Boolean);
    if (layers && !layers.length) throw new Error(`--layers takes module names or prefixes separated by commas (features.2,features.3.0), got '${flags.layers}'`);
    const opts: KernelBenchOptions = {
      res, batch: intFlag(flags.batch, 'batch', 1), runs: intFlag(flags.runs, 'runs', 5), shapes, timeoutS,
      ...(layers ? { layers } : {}), ...(flags['no-network'] ? { network: false } : {}),
    };
    const host: HostName = hostFlag(flags.host);
    const out = flags.out === undefined ? undefined : resolve(flags.out as string);
    const format = out && outputFormat(out, ['.json', '.md', '.html']);
    if (out) await checkWritable(out);
    const log = (s: string) => process.stderr.write(`effnet: ${s}\n`);
    const job = () => runJob(host, 'kernel-bench', () => ({ arch, op, source, label, opts }), { log });
    if (process.env[WORKER_ENV]) return asWorker(job);
    const report = host === 'node' ? await inWorker(args) : await job();
    if (flags.json) console.log(JSON.stringify(report, null, 1));
    else console.log(kernelBenchMarkdown(report));
    if (out) {
      await writeFile(out, format === '.json' ? JSON.stringify(report, null, 1) + '\n' : format === '.md' ? kernelBenchMarkdown(report) : await kernelBenchHtml(report));
      log(`wrote ${out}`);
    }
    return report.ok ? 0 : 1;
  },
};
