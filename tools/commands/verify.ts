/** `effnet verify`: parity of every stage and the logits against a reference dump, in Node or Chromium. */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from '../command.js';
import { parseFlags } from '../harness/index.js';
import { EffnetError, isEffnetError } from '../../src/errors.js';
import { parseSafetensors, type SafetensorsFile } from '../../src/safetensors.js';
import type { VerifyReport } from '../../src/verify.js';
import { MODEL_TOLERANCE } from '../../src/tolerance.js';
import { hostFlag, runJob } from '../host.js';
import { formatAdapter, type AdapterReport } from '../../src/gpu.js';
import { getArch, type ArchSpec } from '../../src/model/tables.js';
import { inferWeightsArch } from '../../src/weights/load.js';

export const verifyCommand: Command = {
  name: 'verify',
  summary: `Compare every stage output and the logits with a reference dump (relL2 ≤ ${MODEL_TOLERANCE.relL2.toExponential()})`,
  usage: 'effnet verify [--arch A] --weights W --io IO [--host node|chrome] [--json]',
  async run(args) {
    const { flags } = parseFlags(args, { strings: ['arch', 'weights', 'io', 'host'], booleans: ['json'] });
    for (const f of ['weights', 'io'] as const) if (!flags[f]) throw new Error(`verify needs --${f} (see effnet verify --help)`);
    const host = hostFlag(flags.host);
    const weights = resolve(flags.weights as string);
    const io = resolve(flags.io as string);
    const dump = await readReference(io);
    const arch = flags.arch === undefined ? await inferredArch(weights, dump) : getArch(flags.arch as string);
    const { report, adapter } = await runJob(host, 'verify', async (jobs) => ({ arch, weights: await jobs.weights(weights), io: jobs.file(io) }));
    if (flags.json) console.log(JSON.stringify({ ...report, host, adapter }, null, 1));
    else print(report, host, adapter);
    return report.pass ? 0 : 1;
  },
};

/** The reference dump, parsed; a path that is not a readable regular file is an IO error naming it. */
async function readReference(io: string): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    if (!(await stat(io)).isFile()) throw new EffnetError('IO', `--io ${io}: not a regular file (a reference dump is a .safetensors file)`);
    bytes = new Uint8Array(await readFile(io));
  } catch (e) {
    if (isEffnetError(e)) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e as Error).message;
    throw new EffnetError('IO', `--io ${io}: cannot read the reference dump (${why})`, { cause: e });
  }
  return parseSafetensors(bytes, { source: io });
}

/** The weights' own architecture, at the resolution of the reference input. */
async function inferredArch(weights: string, dump: SafetensorsFile): Promise<ArchSpec> {
  const spec = await inferWeightsArch(weights);
  const input = dump.get('input').shape;
  // NCHW [n, 3, H, W] or NHWC [n, H, W, 3], told apart as verifyModel does.
  const resolution = input[3] === 3 && input[1] !== 3 ? input[1]! : input[2]!;
  return { ...spec, resolution };
}

function print(r: VerifyReport, host: string, adapter: AdapterReport): void {
  console.log(`${r.arch}, batch ${r.batch}, on ${host}: ${formatAdapter(adapter)}`);
  const rows = [...r.stages.map((s) => [s.name, s.maxAbsErr, s.relL2] as const)];
  if (r.logits) rows.push(['logits', r.logits.maxAbsErr, r.logits.relL2]);
  if (rows.length) {
    console.log(`${'output'.padEnd(12)} ${'max |err|'.padStart(10)} ${'relL2'.padStart(10)}`);
    for (const [n, a, l] of rows) console.log(`${n.padEnd(12)} ${a.toExponential(2).padStart(10)} ${l.toExponential(2).padStart(10)}`);
  }
  if (r.probabilities) {
    const p = r.probabilities;
    console.log(`probabilities: max |err| ${p.maxAbsErr.toExponential(2)}, top-1 agrees on ${p.top1Agree}/${p.images} images`);
  }
  console.log(r.pass ? `PASS (relL2 ≤ ${r.tolerance.relL2}, probabilities within ${r.tolerance.probAbs})` : 'FAIL');
}
