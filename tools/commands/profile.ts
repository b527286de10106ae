/**
 * `effnet profile`: per-stage (and with --detail per-kernel) GPU latency of one architecture, in Node or
 * headless Chromium, as JSON, a Markdown table or a standalone HTML page; `--compare` sets reports side by side.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import type { Command } from '../command.js';
import { intFlag, parseFlags } from '../harness/index.js';
import { loadModel } from '../../src/api.js';
import { formatAdapter } from '../../src/gpu.js';
import { getArch, withFusedStages } from '../../src/model/tables.js';
import { profileModel, type Profile, type ProfileOptions } from '../../src/profile.js';
import { readTuningFile, type TuningSource } from '../../src/tuning/file.js';
import { isDirectory } from '../fsutil.js';
import { openChromeHost } from '../host.js';
import { reportHtml } from '../report/html.js';
import {
  compareMarkdown, compareReports, parseProfileReport, profileMarkdown, toProfileReport, type ProfileReport,
} from '../report/model.js';

const USAGE = [
  'effnet profile --arch A [--weights W] [--fused-stages K] [--res R] [--batch N] [--runs N] [--detail]',
  '               [--target auto|gpu|fallback] [--tuning FILE|cache|none] [--no-subgroups] [--host node|chrome] [--json] [--out report.json|report.md|report.html]',
  '       effnet profile --compare a.json b.json [c.json…] [--out cmp.md|cmp.html]',
].join('\n');

const PROFILE_FLAGS = ['arch', 'weights', 'fused-stages', 'res', 'batch', 'runs', 'host', 'detail', 'json', 'target', 'tuning', 'no-subgroups'];

export const profileCommand: Command = {
  name: 'profile',
  summary: 'Per-stage GPU latency (ms, share, GFLOP/s, GB/s) as Markdown, JSON or an HTML report with charts; --compare reports',
  usage: USAGE,
  async run(args) {
    const { flags, positionals } = parseFlags(args, {
      strings: ['arch', 'weights', 'fused-stages', 'res', 'batch', 'runs', 'host', 'out', 'target', 'tuning'],
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
    const host = (flags.host as string | undefined) ?? 'node';
    if (host !== 'node' && host !== 'chrome') throw new Error(`--host must be node or chrome, got ${host}`);
    const res = intFlag(flags.res, 'res', getArch(baseArch).resolution);
    if (res < 8) throw new Error(`--res must be at least 8 (EfficientNet downsamples 32×), got ${res}`);
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
    const schedule = (flags.target as string | undefined) ?? 'auto';
    if (!['auto', 'gpu', 'fallback'].includes(schedule)) throw new Error(`--target must be auto, gpu or fallback, got '${schedule}'`);
    // Node reads its tuning cache unless told otherwise; Chromium gets the file's contents.
    const t = (flags.tuning as string | undefined) ?? (host === 'node' ? 'cache' : 'none');
    const tuning: TuningSource = t === 'cache' || t === 'none' ? t : await readTuningFile(resolve(t));
    const target = { baseArch, fusedStages, weights, schedule: schedule as Target['schedule'], tuning, subgroups: !flags['no-subgroups'] };
    const profile = host === 'node' ? await inNode(target, opts, log) : await inChrome(target, opts, log);
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

interface Target {
  baseArch: string;
  fusedStages: number | null;
  weights: string;
  schedule: 'auto' | 'gpu' | 'fallback';
  tuning: TuningSource;
  subgroups: boolean;
}

async function inNode(t: Target, opts: ProfileOptions, log: (s: string) => void): Promise<Profile> {
  const arch = t.fusedStages === null ? getArch(t.baseArch) : withFusedStages(t.baseArch, t.fusedStages);
  const model = await loadModel({ arch, weights: t.weights, target: t.schedule, tuning: t.tuning, subgroups: t.subgroups });
  try {
    log(`${model.spec.name} (${t.weights} weights) on ${formatAdapter(model.gpu.report)}`);
    return await profileModel(model, { ...opts, log });
  } finally {
    model.dispose();
  }
}

async function inChrome(t: Target, opts: ProfileOptions, log: (s: string) => void): Promise<Profile> {
  log('starting headless Chromium');
  const host = await openChromeHost((line) => process.stderr.write(line.replace(/^\[chrome log\] /, '') + '\n'));
  try {
    const weights = t.weights === 'random' || isUrl(t.weights) ? t.weights : host.url((await isDirectory(t.weights)) ? `${t.weights}/model.json` : t.weights);
    return await host.session.page.evaluate(
      async (base, fused, w, o, schedule, tuning, subgroups) => {
        const e = (globalThis as unknown as { effnet: typeof import('../../src/index.js') }).effnet;
        const model = await e.loadModel({ arch: fused === null ? e.getArch(base) : e.withFusedStages(base, fused), weights: w, target: schedule, tuning, subgroups });
        try {
          console.log(`effnet: ${model.spec.name} in headless Chromium on ${e.formatAdapter(model.gpu.report)}`);
          return await e.profileModel(model, { ...o, log: (s) => console.log(`effnet: ${s}`) });
        } finally {
          model.dispose();
        }
      },
      t.baseArch, t.fusedStages, weights, opts, t.schedule, t.tuning === 'cache' ? 'none' : t.tuning, t.subgroups,
    );
  } finally {
    await host.close();
  }
}

async function compare(files: string[], out: string | undefined): Promise<number> {
  if (files.length < 2) throw new Error(`--compare needs at least two report files (effnet profile --out x.json writes one), got ${files.length}`);
  const format = out && outputFormat(out, ['.md', '.html']);
  const reports: { report: ProfileReport; source: string }[] = [];
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

/** The report format `out` asks for, checked before any GPU work so a typo costs nothing. */
function outputFormat(out: string, allowed: string[]): string {
  const ext = extname(out).toLowerCase();
  if (!allowed.includes(ext)) throw new Error(`--out ${out}: unsupported extension '${ext || '(none)'}'; use ${allowed.join(', ')}`);
  if (!existsSync(dirname(out))) throw new Error(`--out ${out}: folder ${dirname(out)} does not exist`);
  return ext;
}

const isUrl = (s: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);

