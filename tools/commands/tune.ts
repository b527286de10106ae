/**
 * `effnet tune`: times candidate tiles for every distinct launch of one architecture on this device, loads the
 * model a second time from that tuning and measures planned against tuned schedule in the same run
 * (tools/jobs/tune.ts), and writes the fastest per (adapter, kernel, shape) to the tuning cache and --out when the
 * whole model is no slower and its logits unchanged.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatAdapter } from '../../src/gpu.js';
import { getArch } from '../../src/model/tables.js';
import { RETILE_REL_L2, type SecondLoad, type TuneOptions, type TuneResult } from '../../src/tuning/measure.js';
import { mergeTuning, parseTuningFile, writeTuningCache, type TuningFile } from '../../src/tuning/file.js';
import { KERNELS } from '../../src/kernels/registry.js';
import { isTunable } from '../../src/kernels/tile-space.js';
import { targetFlag, type Command } from '../command.js';
import { intFlag, parseFlags } from '../harness/index.js';
import { hostFlag, runJob } from '../host.js';
import { webgpuOnly } from '../webgpu-only.js';
import type { TuneMeasured } from '../jobs/tune.js';

const USAGE =
  'effnet tune --arch A [--weights W] [--res R] [--batch N] [--budget-s 60] [--max-candidates 8] [--kernels K,K] [--runs 10]\n' +
  '            [--target auto|gpu|fallback] [--no-subgroups] [--backend webgpu|auto] [--host node|chrome] [--out tuning.json] [--json]\n\n' +
  '  Times candidate tiles of every distinct launch (planned tile first; most expensive launches first, until the\n' +
  '  budget is spent), keeps the fastest, adds them to the tuning cache ($EFFNET_TUNING_DIR or <cache>/tuning) and\n' +
  '  to --out (merged with what the file holds for other adapters) — after loading the model again with that\n' +
  '  tuning and timing planned and tuned schedule in alternating runs: a tuning that leaves the model more than\n' +
  '  3% slower, or whose logits differ from the planned schedule\'s beyond f32 rounding (relL2 > 1e-6), is reported\n' +
  '  and not written. Every candidate tile\'s output is first checked against the planned tile\'s on this device:\n' +
  '  one that differs is reported as rejected and never timed.\n' +
  '  --kernels  tune only these kernels\' launches (e.g. dwconv,stem)\n' +
  '  --json  {adapter, candidates, rejected, choices: [{kernel, shape, layers, planned, chosen, plannedMs, ms, rejected}], beforeMs, afterMs, logitsRelL2, accepted, ...}';

export interface TuneReport extends Omit<TuneResult, 'choices' | 'tuning'> {
  choices: { kernel: string; shape: string; layers: number; planned: Record<string, number>; chosen: Record<string, number>; plannedMs: number; ms: number; tried: number; rejected: { tile: Record<string, number>; why: string }[] }[];
  /** Median wall time of whole inferences, planned schedule vs tuned, alternating in the same run. */
  beforeMs: number;
  afterMs: number;
  ratio: number;
  /** ‖tuned − planned‖ / ‖planned‖ of the logits on the same input (kept only within RETILE_REL_L2). */
  logitsRelL2: number;
  /** The second load (from the tuning just measured): pipelines it compiled, how many launches took a tuned tile. */
  secondLoad: SecondLoad;
  /** Whether the tuning was kept: the tuned model's median within MAX_RATIO of the planned one's, its logits within RETILE_REL_L2. */
  accepted: boolean;
  written: string[];
}

const TUNABLE = KERNELS.map((k) => k.name).filter(isTunable);

/** Timing noise between two medians of the same schedule on a busy machine stays within this. */
const MAX_RATIO = 1.03;

export const tuneCommand: Command = {
  name: 'tune',
  summary: 'Time candidate tiles for every launch on this device; write the fastest to a tuning file',
  usage: USAGE,
  async run(args) {
    const { flags } = parseFlags(args, {
      flagsOnly: 'tune',
      strings: ['arch', 'weights', 'res', 'batch', 'budget-s', 'max-candidates', 'kernels', 'runs', 'target', 'host', 'out', 'backend'],
      booleans: ['json', 'no-subgroups'],
    });
    webgpuOnly('tune', flags.backend, (s) => process.stderr.write(`effnet: ${s}\n`));
    if (flags.arch === undefined) throw new Error(`tune needs --arch\nusage: ${USAGE}`);
    const arch = getArch(flags.arch as string).name;
    const res = intFlag(flags.res, 'res', getArch(arch).resolution);
    const budgetS = Number(flags['budget-s'] ?? 60);
    if (!(budgetS > 0)) throw new Error(`--budget-s must be a positive number of seconds, got '${String(flags['budget-s'])}'`);
    const kernels = flags.kernels === undefined ? undefined : String(flags.kernels).split(',').filter(Boolean);
    for (const k of kernels ?? []) if (!isTunable(k)) throw new Error(`--kernels: '${k}' is not a tunable kernel (tunable: ${TUNABLE.join(', ')})`);
    const opts: TuneOptions = { batch: intFlag(flags.batch, 'batch', 1), res, budgetS, maxCandidates: intFlag(flags['max-candidates'], 'max-candidates', 8), ...(kernels ? { kernels } : {}) };
    const runs = intFlag(flags.runs, 'runs', 10);
    const target = targetFlag(flags.target);
    const host = hostFlag(flags.host);
    const out = flags.out === undefined ? undefined : resolve(flags.out as string);
    if (out !== undefined && !out.endsWith('.json')) throw new Error(`--out must name a .json file, got '${String(flags.out)}'`);
    let previous: TuningFile | undefined;
    if (out && existsSync(out)) previous = parseTuningFile(JSON.parse(await readFile(out, 'utf8')), out);
    const w = (flags.weights as string | undefined) ?? 'random';
    const weights = w === 'random' || /^https?:/.test(w) ? w : resolve(w);
    const log = (s: string) => process.stderr.write(`effnet: ${s}\n`);
    const subgroups = !flags['no-subgroups'];

    const measured = await runJob(host, 'tune', async (jobs) => ({ arch, weights: await jobs.weights(weights), target, opts, runs, subgroups }), { log });
    // Launches timed alone can rank tiles differently than the network runs them (caches, other launches):
    // a tuning that leaves the whole model slower than planned is reported, not kept.
    // And a tiling changes no sum's order: logits beyond f32 rounding of the planned ones mean a tile computes
    // something else on this device, whatever the per-launch checks said.
    const sameLogits = measured.compare.relL2 <= RETILE_REL_L2;
    const accepted = measured.compare.ratio <= MAX_RATIO && sameLogits;
    const written: string[] = [];
    if (accepted) {
      written.push(await writeTuningCache(measured.result.adapter, measured.result.tuning));
      if (out) {
        await writeFile(out, JSON.stringify(mergeTuning(previous, measured.result.adapter, measured.result.tuning), null, 1) + '\n');
        written.push(out);
      }
    } else if (!sameLogits) {
      log(`the tuned schedule's logits differ from the planned one's (relL2 ${measured.compare.relL2.toExponential(2)} > ${RETILE_REL_L2}): nothing written`);
    } else {
      log(`the tuned schedule was slower than the planned one in the network (ratio ${measured.compare.ratio.toFixed(3)} > ${MAX_RATIO}): nothing written`);
    }
    const report = toReport(measured, written, accepted);
    for (const p of written) log(`wrote ${p}`);
    if (flags.json) console.log(JSON.stringify(report, null, 1));
    else print(report);
    return 0;
  },
};

function toReport(m: TuneMeasured, written: string[], accepted: boolean): TuneReport {
  const { choices, tuning: _entries, ...result } = m.result;
  return {
    ...result,
    choices: choices.map((c) => ({ kernel: c.kernel, shape: c.key, layers: c.ops.length, planned: c.planned, chosen: c.chosen, plannedMs: c.plannedMs, ms: c.ms, tried: c.tried, rejected: c.rejected })),
    beforeMs: m.compare.aMs, afterMs: m.compare.bMs, ratio: m.compare.ratio, logitsRelL2: m.compare.relL2,
    secondLoad: m.secondLoad,
    accepted,
    written,
  };
}

function print(r: TuneReport): void {
  const changed = r.choices.filter((c) => Object.keys(c.chosen).some((k) => c.chosen[k] !== c.planned[k]));
  console.log(`# effnet tune: ${r.arch} @ ${r.res}×${r.res}, batch ${r.batch}, ${r.target} target on ${formatAdapter(r.adapter)}\n`);
  console.log(`tuned ${r.tuned} of ${r.launches} distinct launches (${r.candidates} candidate tiles) in ${r.spentS.toFixed(1)} s of a ${r.budgetS} s budget: ` +
    `compiling candidates ${(r.compileMs / 1000).toFixed(1)} s, timing ${(r.timingMs / 1000).toFixed(1)} s (${r.timer}); the planned schedule compiled in ${(r.scheduleCompileMs / 1000).toFixed(1)} s before`);
  console.log(`${changed.length} launches took another tile than planned; model median ${r.beforeMs.toFixed(1)} ms planned → ${r.afterMs.toFixed(1)} ms tuned (ratio ${r.ratio.toFixed(3)}), ` +
    `logits relL2 ${r.logitsRelL2.toExponential(2)}: ` +
    (r.accepted ? `kept, written to ${r.written.join(' and ')}` : r.logitsRelL2 > RETILE_REL_L2 ? 'logits differ, so not written' : 'slower in the network, so not written'));
  if (r.rejected) console.log(`${r.rejected} candidate tile(s) rejected: their output differed from the planned tile's on this device`);
  for (const c of r.choices) for (const x of c.rejected) console.log(`  rejected ${c.kernel} ${Object.entries(x.tile).map(([k, v]) => `${k}=${v}`).join(' ')}: ${x.why}`);
  console.log(`second load from the tuning file: ${r.secondLoad.tuningEntries} entries, ${r.secondLoad.pipelines} pipelines compiled ` +
    `(${r.secondLoad.onlyScheduled ? 'only the schedule\'s own' : 'NOT only the schedule\'s'}; the tuning run compiled ${r.secondLoad.firstLoadPipelines}), ${r.secondLoad.launchesRetiled} launches retiled\n`);
  console.log('| kernel | layers | planned | chosen | planned ms | chosen ms | speed-up |');
  console.log('| --- | ---: | --- | --- | ---: | ---: | ---: |');
  const tile = (t: Record<string, number>) => Object.entries(t).map(([k, v]) => `${k}=${v}`).join(' ');
  for (const c of r.choices) {
    console.log(`| ${c.kernel} | ${c.layers} | ${tile(c.planned)} | ${tile(c.chosen)} | ${c.plannedMs.toFixed(3)} | ${c.ms.toFixed(3)} | ${(c.plannedMs / c.ms).toFixed(2)}× |`);
  }
}

