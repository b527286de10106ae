/**
 * `effnet profile`: per-stage (and with --detail per-kernel) GPU latency of one architecture, in Node or
 * headless Chromium, as JSON, a Markdown table or a standalone HTML page; `--compare` sets reports side by side.
 * `--backend cpu` times each stage on the CPU runtime instead (Node: onnxruntime-node's per-node profiler),
 * into the same report, so `--compare` sets a stage's CPU time beside its GPU time.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { outputFormat, resFlag, targetFlag, type Command } from '../command.js';
import { backendFlag, intFlag, parseFlags } from '../harness/index.js';
import { getArch, withFusedStages } from '../../src/model/tables.js';
import type { ProfileOptions } from '../../src/profile.js';
import { readTuningFile, type TuningSource } from '../../src/tuning/file.js';
import { hostFlag, isUrl, runJob } from '../host.js';
import { reportHtml } from '../report/html.js';
import {
  compareMarkdown, compareReports, parseProfileReport, profileMarkdown, toProfileReport, type AnyProfileReport,
} from '../report/model.js';

const USAGE = [
  'effnet profile --arch A [--weights W] [--fused-stages K] [--res R] [--batch N] [--runs N] [--detail] [--backend webgpu|cpu|auto]',
  '               [--target auto|gpu|fallback] [--tuning FILE|cache|none] [--no-subgroups] [--host node|chrome] [--json] [--out report.json|report.md|report.html]',
  '       effnet profile --compare a.json b.json [c.json…] [--out cmp.md|cmp.html]',
  '',
  '  --backend  webgpu (default): our kernels, GPU timestamps per stage; cpu: the CPU runtime (onnxruntime-node, in Node),',
  '             its per-node profile of whole-network runs summed per stage; auto: whichever loadModel picks here',
].join('\n');

const PROFILE_FLAGS = ['arch', 'weights', 'fused-stages', 'res', 'batch', 'runs', 'host', 'detail', 'json', 'target', 'tuning', 'no-subgroups', 'backend'];

/** Flags that shape or time our WebGPU kernels, refused with `--backend cpu`. */
const GPU_FLAGS = ['detail', 'target', 'tuning', 'no-subgroups'];

export const profileCommand: Command = {
  name: 'profile',
  summary: 'Per-stage GPU latency (ms, share, GFLOP/s, GB/s; --backend cpu: on the CPU runtime) as Markdown, JSON or an HTML report with charts; --compare reports',
  usage: USAGE,
  async run(args) {
    const { flags, positionals } = parseFlags(args, {
      strings: ['arch', 'weights', 'fused-stages', 'res', 'batch', 'runs', 'host', 'out', 'target', 'tuning', 'backend'],
      booleans: ['detail', 'json', 'compare', 'no-subgroups'],
    });
    const out = flags.out === undefined ? undefined : resolve(flags.out as string);
    if (flags.compare) {
      const extra = PROFILE_FLAGS.filter((f) => flags[f] !== undefined);
      if (extra.length) throw new Error(`--compare takes report files and --out only, not --${extra.join(', --')}`);
      return compare(positionals, out);
    }
    if (positionals.length) throw new Error(`unexpected argument '${positionals[0]}' (usage: ${USAGE.split('\n')[0]})`);
    const format = out && outputFormat(out, ['.json', '.md', '.html']);
    if (flags.arch === undefined) throw new Error(`profile needs --arch (usage: ${USAGE.split('\n')[0]})`);
    const baseArch = getArch(flags.arch as string).name;
    const fusedStages = flags['fused-stages'] === undefined ? null : intFlag(flags['fused-stages'], 'fused-stages', 0, 0);
    if (fusedStages !== null) withFusedStages(baseArch, fusedStages);
    const host = hostFlag(flags.host);
    // Our kernels unless the CPU runtime is asked for: profiling is about them ('auto' follows loadModel).
    const backend = flags.backend === undefined ? 'webgpu' : backendFlag(flags.backend);
    if (backend === 'cpu') {
      if (host === 'chrome') throw new Error('--backend cpu profiles in Node (onnxruntime-node); in a page the CPU backend is LiteRT.js, which an app configures (README: "Without WebGPU"): leave out --host chrome');
      const gpuOnly = GPU_FLAGS.filter((f) => flags[f] !== undefined);
      if (gpuOnly.length) throw new Error(`--${gpuOnly.join(', --')} ${gpuOnly.length === 1 ? 'is' : 'are'} about our WebGPU kernels; --backend cpu times each stage on the CPU runtime (a model file per stage, no per-op times)`);
    }
    const res = resFlag(flags.res, getArch(baseArch).resolution);
    const opts: ProfileOptions = {
      batch: intFlag(flags.batch, 'batch', 1),
      res,
      runs: intFlag(flags.runs, 'runs', 10),
      detail: !!flags.detail,
    };
    const w = flags.weights as string | undefined;
    // loadModel also takes URLs; only local paths are made absolute (and served to the page with --host chrome).
    const weights = w === undefined || w === 'random' || isUrl(w) ? (w ?? 'random') : resolve(w);
    const log = (s: string) => process.stderr.write(`effnet: ${s}\n`);
    // Only the flags given reach loadModel (its defaults otherwise), so an 'auto' load that lands on the CPU names
    // only options the user actually set as not applying there.
    const target = flags.target === undefined ? undefined : targetFlag(flags.target);
    // Node reads its tuning cache by default; Chromium has none, and gets a file's contents.
    const t = flags.tuning as string | undefined;
    const tuning: TuningSource | undefined = t === undefined ? undefined : t === 'cache' ? (host === 'node' ? t : 'none') : t === 'none' ? t : await readTuningFile(resolve(t));
    const subgroups = flags['no-subgroups'] ? false : undefined;
    const profile = await runJob(host, 'profile', async (jobs) => ({ baseArch, fusedStages, weights: await jobs.weights(weights), backend, target, tuning, subgroups, opts }), { log });
    const report = toProfileReport(profile, { baseArch, fusedStages, host, weights });
    if (flags.json) console.log(JSON.stringify(report, null, 1));
    if (out) {
      await writeFile(out, format === '.json' ? JSON.stringify(report, null, 1) + '\n' : format === '.md' ? profileMarkdown(report) : await reportHtml({ kind: 'profile', report }));
      log(`wrote ${out}`);
    } else if (!flags.json) {
      console.log(profileMarkdown(report));
    }
    return 0;
  },
};

async function compare(files: string[], out: string | undefined): Promise<number> {
  if (files.length < 2) throw new Error(`--compare needs at least two report files (effnet profile --out x.json writes one), got ${files.length}`);
  const format = out && outputFormat(out, ['.md', '.html']);
  const reports: { report: AnyProfileReport; source: string }[] = [];
  for (const f of files) {
    const text = await readFile(f, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new Error(`cannot read report ${f}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
    });
    reports.push({ report: parseProfileReport(text, f), source: f });
  }
  const cmp = compareReports(reports);
  if (!out) {
    console.log(compareMarkdown(cmp));
    return 0;
  }
  await writeFile(out, format === '.md' ? compareMarkdown(cmp) : await reportHtml({ kind: 'compare', comparison: cmp }));
  process.stderr.write(`effnet: wrote ${out}\n`);
  return 0;
}
