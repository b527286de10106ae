/**
 * `effnet report <kind>`: the papers' and model zoos' tables measured on this device — latency-table
 * (PaddleClas), fused-ablation (EfficientNetV2 Table 3), sweep (batch × resolution with memory) and v1-vs-v2
 * (latency against top-1) — as Markdown, JSON or a standalone HTML page with charts.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { outputFormat, type Command } from '../command.js';
import { parseFlags } from '../harness/index.js';
import type { AdapterReport } from '../../src/gpu.js';
import { modelInfo } from '../../src/model/info.js';
import { getArch, withFusedStages, type ArchSpec } from '../../src/model/tables.js';
import { hostFlag, openJobs, type HostName } from '../host.js';
import type { Measured, ReportJob } from '../jobs/report.js';
import { kindReportHtml } from '../report/html.js';
import { planCells, type CellShape } from '../report/kinds-measure.js';
import { KIND_REPORT_FORMAT, REPORT_KINDS, kindMarkdown, type Cell, type KindReport, type ReportKind, type ReportRow } from '../report/kinds.js';
import { FUSED_ABLATION, KIND_DEFAULTS, PUBLISHED_MODELS, SOURCES, publishedModel, type FusedAblationRow, type PublishedModel, type Source } from '../report/published.js';

const USAGE = [
  'effnet report latency-table|fused-ablation|sweep|v1-vs-v2 [--arch A[,B…]] [--res R[,…]] [--batch N[,…]] [--fused K[,…]]',
  '              [--runs 5] [--budget-s S] [--memory-budget MB] [--host node|chrome] [--json] [--out x.json|x.md|x.html]',
  '       effnet report --from report.json [--out x.md|x.html]   # render a report written elsewhere (e.g. on a GPU machine)',
].join('\n');

const MEASURE_FLAGS = ['arch', 'res', 'batch', 'fused', 'runs', 'budget-s', 'memory-budget', 'host', 'json'];

const SUMMARY = 'The papers\' tables on this device: latency-table, fused-ablation, sweep (memory), v1-vs-v2 (Pareto), as Markdown, JSON or HTML';

/** A row to measure: its table, what it is compared with, and its cells. */
interface RowPlan {
  spec: ArchSpec;
  label: string;
  fusedStages: number | null;
  published: PublishedModel | null;
  paper: FusedAblationRow | null;
  shapes: CellShape[];
}

export const reportCommand: Command = {
  name: 'report',
  summary: SUMMARY,
  usage: USAGE,
  async run(args) {
    const { flags, positionals } = parseFlags(args, {
      strings: ['arch', 'res', 'batch', 'fused', 'runs', 'budget-s', 'memory-budget', 'host', 'out', 'from'],
      booleans: ['json'],
    });
    if (flags.from !== undefined) {
      const extra = MEASURE_FLAGS.filter((f) => flags[f] !== undefined);
      if (extra.length || positionals.length) throw new Error(`--from takes a report file and --out only, not ${[...positionals, ...extra.map((f) => `--${f}`)].join(', ')}`);
      return render(resolve(flags.from as string), flags.out === undefined ? undefined : resolve(flags.out as string));
    }
    const [kind, extra] = positionals;
    if (kind === undefined) throw new Error(`report needs a kind: ${REPORT_KINDS.join(', ')} (usage: ${USAGE.split('\n')[0]})`);
    if (!(REPORT_KINDS as readonly string[]).includes(kind)) throw new Error(`unknown report kind '${kind}'; use one of ${REPORT_KINDS.join(', ')}`);
    if (extra !== undefined) throw new Error(`unexpected argument '${extra}' (usage: ${USAGE.split('\n')[0]})`);
    const out = flags.out === undefined ? undefined : resolve(flags.out as string);
    const format = out && outputFormat(out, ['.json', '.md', '.html']);
    const host = hostFlag(flags.host);
    const runs = intList(flags.runs, 'runs', [5], 1);
    if (runs.length !== 1) throw new Error(`--runs takes one number, got ${flags.runs}`);
    const budgetS = flags['budget-s'] === undefined ? null : positive(flags['budget-s'], 'budget-s');
    const memoryBudgetMB = flags['memory-budget'] === undefined ? null : positive(flags['memory-budget'], 'memory-budget');
    if (flags.fused !== undefined && kind !== 'fused-ablation') throw new Error('--fused is for fused-ablation only');

    const { rows, resolutions, batches } = planRows(kind as ReportKind, flags);
    const memoryBudgetBytes = memoryBudgetMB === null ? null : memoryBudgetMB * 2 ** 20;
    const log = (s: string) => process.stderr.write(`effnet: ${s}\n`);
    const jobs = await openJobs(host, { log });
    let report: KindReport;
    try {
      const adapter = await jobs.run('adapter', undefined);
      report = await measure(kind as ReportKind, rows, { adapter, host, runs: runs[0]!, budgetS, memoryBudgetBytes, resolutions, batches, cells: (job) => jobs.run('report', job) });
    } finally {
      await jobs.close();
    }
    if (flags.json) console.log(JSON.stringify(report, null, 1));
    if (out) {
      await writeFile(out, format === '.json' ? JSON.stringify(report, null, 1) + '\n' : format === '.md' ? kindMarkdown(report) : await kindReportHtml(report));
      log(`wrote ${out}`);
    } else if (!flags.json) {
      console.log(kindMarkdown(report));
    }
    return 0;
  },
};

/** Markdown (stdout or --out x.md) or the HTML page of a report JSON written by --json or --out x.json. */
async function render(from: string, out: string | undefined): Promise<number> {
  const format = out && outputFormat(out, ['.md', '.html']);
  const text = await readFile(from, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new Error(`cannot read report ${from}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  let report: KindReport;
  try {
    report = JSON.parse(text) as KindReport;
  } catch (e) {
    throw new Error(`${from} is not valid JSON (${(e as Error).message})`);
  }
  if (report?.format !== KIND_REPORT_FORMAT || !(REPORT_KINDS as readonly string[]).includes(report.kind) || !Array.isArray(report.rows)) {
    throw new Error(`${from} is not an effnet report (write one with: effnet report <kind> --out x.json)`);
  }
  if (!out) {
    console.log(kindMarkdown(report));
    return 0;
  }
  await writeFile(out, format === '.md' ? kindMarkdown(report) : await kindReportHtml(report));
  process.stderr.write(`effnet: wrote ${out}\n`);
  return 0;
}

/** The rows and cells a kind measures: its defaults (the full published tables), narrowed by the flags. */
function planRows(kind: ReportKind, flags: Record<string, string | boolean>): { rows: RowPlan[]; resolutions: number[]; batches: number[] } {
  const archs = flags.arch === undefined ? undefined : list(flags.arch, 'arch');
  const res = flags.res === undefined ? undefined : intList(flags.res, 'res', [], 8);
  // Only the sweep is a grid over resolutions; the other kinds compare models, each at one size.
  if (res && res.length !== 1 && kind !== 'sweep') throw new Error(`--res takes one size for ${kind} (the sweep takes a list), got ${flags.res}`);
  const single = (name: string, v: string[] | undefined, fallback: string): string => {
    if (v && v.length !== 1) throw new Error(`--${name} takes one architecture for ${kind}, got ${v.join(',')}`);
    return v?.[0] ?? fallback;
  };
  const row = (spec: ArchSpec, shapes: CellShape[], o: Partial<RowPlan> = {}): RowPlan => ({
    spec, label: spec.name, fusedStages: null, published: publishedModel(spec.name) ?? null, paper: null, shapes, ...o,
  });
  const grid = (rs: number[], bs: number[]): CellShape[] => rs.flatMap((r) => bs.map((b) => ({ res: r, batch: b })));
  switch (kind) {
    case 'latency-table': {
      const batches = intList(flags.batch, 'batch', KIND_DEFAULTS.latencyTable.batches, 1);
      const names = archs ?? PUBLISHED_MODELS.filter((m) => m.v100Ms).map((m) => m.arch);
      const rows = names.map((n) => {
        const spec = getArch(n);
        return row(spec, grid(res ?? [publishedModel(n)?.crop ?? spec.resolution], batches));
      });
      return { rows, resolutions: unique(rows.flatMap((r) => r.shapes.map((s) => s.res))), batches };
    }
    case 'fused-ablation': {
      const batches = intList(flags.batch, 'batch', KIND_DEFAULTS.fusedAblation.batches, 1);
      const base = getArch(single('arch', archs, FUSED_ABLATION.base));
      const counts = unique(intList(flags.fused, 'fused', FUSED_ABLATION.rows.map((r) => r.fusedStages), 0)).sort((a, b) => a - b);
      const resolutions = res ?? [base.resolution];
      // The paper's rows describe its own base network only.
      const paperRows = base.name === FUSED_ABLATION.base ? FUSED_ABLATION.rows : [];
      const rows = counts.map((k) => {
        const paper = paperRows.find((p) => p.fusedStages === k) ?? null;
        const spec = k === 0 ? base : withFusedStages(base, k);
        const label = paper ? `${paper.label} (${spec.name})` : k === 0 ? `${spec.name} (no fused)` : `${base.name} fused stages 1-${k}`;
        return row(spec, grid(resolutions, batches), { label, fusedStages: k, published: null, paper });
      });
      return { rows, resolutions, batches };
    }
    case 'sweep': {
      const batches = intList(flags.batch, 'batch', KIND_DEFAULTS.sweep.batches, 1).sort((a, b) => a - b);
      const spec = getArch(single('arch', archs, KIND_DEFAULTS.sweep.arch));
      const resolutions = res ?? KIND_DEFAULTS.sweep.resolutions;
      return { rows: [row(spec, grid(resolutions, batches))], resolutions, batches };
    }
    case 'v1-vs-v2': {
      const batches = intList(flags.batch, 'batch', KIND_DEFAULTS.v1VsV2.batches, 1);
      if (batches.length !== 1) throw new Error(`--batch takes one size for v1-vs-v2, got ${flags.batch}`);
      const names = archs ?? PUBLISHED_MODELS.filter((m) => KIND_DEFAULTS.v1VsV2.families.includes(m.family)).map((m) => m.arch);
      const rows = names.map((n) => {
        const spec = getArch(n);
        if (!publishedModel(spec.name)) throw new Error(`--arch ${n}: no published top-1 for it in tools/report/published.ts; v1-vs-v2 plots latency against it`);
        return row(spec, grid(res ?? [spec.resolution], batches));
      });
      return { rows, resolutions: unique(rows.flatMap((r) => r.shapes.map((s) => s.res))), batches };
    }
  }
}

interface MeasureOptions {
  adapter: AdapterReport;
  host: HostName;
  runs: number;
  budgetS: number | null;
  memoryBudgetBytes: number | null;
  resolutions: number[];
  batches: number[];
  /** Measures one architecture's cells where the report runs. */
  cells: (job: ReportJob) => Promise<Measured[]>;
}

async function measure(kind: ReportKind, plans: RowPlan[], o: MeasureOptions): Promise<KindReport> {
  const deadline = o.budgetS === null ? Number.MAX_SAFE_INTEGER : Date.now() + o.budgetS * 1000;
  const rows: ReportRow[] = [];
  let timer: KindReport['timer'] = null;
  for (const p of plans) {
    const planned = planCells(p.spec, p.shapes, o.adapter, o.memoryBudgetBytes);
    const runnable = p.shapes.map((s, index) => ({ ...s, index })).filter((s) => !planned[s.index]!.overLimit && !planned[s.index]!.overBudget);
    // Chromium has no tuning cache.
    const job: ReportJob = { spec: p.spec, cells: runnable, runs: o.runs, deadline, tuning: o.host === 'node' ? 'cache' : 'none' };
    const measured = runnable.length === 0 ? [] : await o.cells(job);
    timer ??= measured.find((m) => m.timer)?.timer ?? null;
    const cells = p.shapes.map((s, i): Cell => {
      const plan = planned[i]!;
      const m = measured.find((x) => x.index === i);
      const memory = { planned: plan.memory, measured: m?.measured ?? null };
      if (!m) {
        const overLimit = plan.overLimit !== null;
        return { ...s, status: overLimit ? 'over-limit' : 'over-budget', reason: plan.overLimit ?? plan.overBudget, ms: null, wallMs: null, imagesPerS: null, memory, stages: [] };
      }
      return { ...s, status: m.status, reason: m.reason, ms: m.ms, wallMs: m.wallMs, imagesPerS: m.imagesPerS, memory, stages: m.stages };
    });
    const info = modelInfo(p.spec);
    rows.push({ arch: p.spec.name, label: p.label, params: info.params, flops: info.flops, resolution: p.spec.resolution, fusedStages: p.fusedStages, published: p.published, paper: p.paper, cells });
  }
  // Only the sources of figures the kind shows: top-1 and V100 latency (latency-table), top-1 (v1-vs-v2), the paper's Table 3 (fused-ablation).
  const used = new Set<string>();
  for (const r of rows) {
    if (r.published && (kind === 'latency-table' || kind === 'v1-vs-v2')) used.add(r.published.top1Source);
    if (r.published?.latencySource && kind === 'latency-table') used.add(r.published.latencySource);
    if (r.paper) used.add(FUSED_ABLATION.source);
  }
  return {
    format: KIND_REPORT_FORMAT,
    kind,
    host: o.host,
    adapter: o.adapter,
    timer,
    runs: o.runs,
    budgetS: o.budgetS,
    memoryBudgetBytes: o.memoryBudgetBytes,
    resolutions: o.resolutions,
    batches: o.batches,
    rows,
    sources: Object.fromEntries([...used].map((id) => [id, SOURCES[id as keyof typeof SOURCES] as Source])),
    createdAt: new Date().toISOString(),
  };
}

const unique = (xs: number[]): number[] => [...new Set(xs)];

function list(v: string | boolean, name: string): string[] {
  const xs = String(v).split(',').map((s) => s.trim());
  if (xs.some((s) => s === '')) throw new Error(`--${name} takes a comma-separated list, got '${String(v)}'`);
  return xs;
}

/** A comma-separated list of integers ≥ min, or `fallback` when the flag is absent. */
function intList(v: string | boolean | undefined, name: string, fallback: number[], min: number): number[] {
  if (v === undefined) return [...fallback];
  return list(v, name).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} takes integers ≥ ${min}, got '${s}'`);
    return n;
  });
}

function positive(v: string | boolean, name: string): number {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`--${name} must be a positive number, got ${String(v)}`);
  return n;
}
