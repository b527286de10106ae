/**
 * The profile report as data: the JSON `effnet profile` writes (and `--compare` reads back), the rows its
 * Markdown and HTML tables show, and side-by-side comparisons. Pure code, shared by the CLI and the page.
 */
import type { CpuProfile } from '../../src/cpu/profile.js';
import { adapterName, type AdapterReport } from '../../src/gpu.js';
import type { KernelProfile, Profile, StageProfile, Timing } from '../../src/profile.js';

const REPORT_FORMAT = 'effnet-profile';

/** What the HTML page renders, embedded as JSON in the element with this id. */
export type PageData = { kind: 'profile'; report: AnyProfileReport } | { kind: 'compare'; comparison: Comparison };
export const DATA_ELEMENT_ID = 'effnet-report-data';

/** Timing of a stage or kernel as reported: `ms` is the median, null wherever the timer could not see it. */
interface ReportTiming {
  ms: number | null;
  p10Ms: number | null;
  p90Ms: number | null;
  share: number | null;
  flops: number;
  bytes: number;
  gflops: number | null;
  gbps: number | null;
}

export interface KernelReport extends ReportTiming {
  name: string;
  kernel: string;
  block: string;
  resolution: string;
}

export interface StageReport extends ReportTiming {
  name: string;
  block: string;
  resolution: string;
  kernels: KernelReport[];
}

/** What every report holds, whichever backend it timed. */
interface ReportBase {
  format: typeof REPORT_FORMAT;
  arch: string;
  /** The zoo architecture the table started from. */
  baseArch: string;
  /** Stages 1..K turned into Fused-MBConv (withFusedStages), or null for the table as published. */
  fusedStages: number | null;
  res: number;
  batch: number;
  runs: number;
  host: 'node' | 'chrome';
  /** 'random', or the weights file/folder profiled. */
  weights: string;
  timerResolutionNs: number | null;
  detail: boolean;
  totalMs: number;
  unprofiledMs: number;
  overheadPct: number;
  stages: StageReport[];
  createdAt: string;
}

/** A profile of our WebGPU kernels (src/profile.ts). */
export interface ProfileReport extends ReportBase {
  /** Reports written before the CPU backend lack it. */
  backend?: 'webgpu';
  adapter: AdapterReport;
  /** Reports written before the schedule was recorded lack it. */
  schedule?: Profile['schedule'];
  timer: Profile['timer'];
}

/**
 * A profile on the CPU runtime (src/cpu/profile.ts: `timer` 'trace', the runtime's per-node profile, or 'wall', a model
 * file per stage). `totalMs` is the stages summed, `unprofiledMs` an unprofiled run of the whole network, `overheadPct`
 * the profiled runs (trace) or the stages summed (wall) against it.
 */
export interface CpuProfileReport extends ReportBase {
  backend: 'cpu';
  runtime: CpuProfile['runtime'];
  timer: CpuProfile['timer'];
}

/** Either kind: what the Markdown, the page and `--compare` take. */
export type AnyProfileReport = ProfileReport | CpuProfileReport;

const isCpu = (r: AnyProfileReport): r is CpuProfileReport => r.backend === 'cpu';

/** What did the timing: the adapter, or the CPU runtime. */
export const timedOn = (r: AnyProfileReport): string => (isCpu(r) ? `CPU: ${r.runtime.detail}` : adapterName(r.adapter));

/** 'GPU' or 'CPU': whose time a report's stages are. */
export const timeKind = (r: AnyProfileReport): 'GPU' | 'CPU' => (isCpu(r) ? 'CPU' : 'GPU');

export interface ReportMeta {
  baseArch: string;
  fusedStages: number | null;
  host: 'node' | 'chrome';
  weights: string;
  createdAt?: Date;
}

const BLOCK_NAMES: Record<string, string> = { mbconv: 'MBConv', fused: 'Fused-MBConv', stem: 'stem', head: 'head' };

function reportTiming(t: Timing & { flops: number; bytes: number }): ReportTiming {
  return {
    ms: t.ms?.median ?? null,
    p10Ms: t.ms?.p10 ?? null,
    p90Ms: t.ms?.p90 ?? null,
    share: t.share,
    flops: t.flops,
    bytes: t.bytes,
    gflops: t.gflops,
    gbps: t.gbps,
  };
}

export function toProfileReport(p: Profile, meta: ReportMeta): ProfileReport;
export function toProfileReport(p: CpuProfile, meta: ReportMeta): CpuProfileReport;
export function toProfileReport(p: Profile | CpuProfile, meta: ReportMeta): AnyProfileReport;
export function toProfileReport(p: Profile | CpuProfile, meta: ReportMeta): AnyProfileReport {
  const kernel = (k: KernelProfile): KernelReport => ({ name: k.name, kernel: k.kernel, block: BLOCK_NAMES[k.block] ?? k.block, resolution: k.resolution, ...reportTiming(k) });
  const stage = (s: StageProfile): StageReport => ({
    name: s.name,
    block: BLOCK_NAMES[s.block] ?? s.block,
    resolution: s.resolution,
    ...reportTiming(s),
    kernels: s.kernels.map(kernel),
  });
  const backend = 'backend' in p
    ? { backend: p.backend, runtime: p.runtime, timer: p.timer }
    : { backend: 'webgpu' as const, adapter: p.adapter, schedule: p.schedule, timer: p.timer };
  return {
    format: REPORT_FORMAT,
    arch: p.arch,
    baseArch: meta.baseArch,
    fusedStages: meta.fusedStages,
    res: p.res,
    batch: p.batch,
    runs: p.runs,
    host: meta.host,
    weights: meta.weights,
    ...backend,
    timerResolutionNs: p.timerResolutionNs,
    detail: p.detail,
    totalMs: p.totalMs,
    unprofiledMs: p.unprofiledMs,
    overheadPct: p.overheadPct,
    stages: p.stages.map(stage),
    createdAt: (meta.createdAt ?? new Date()).toISOString(),
  };
}

/** Parse a report written by `effnet profile --out x.json` (or `--json`); `source` names it in errors. */
export function parseProfileReport(text: string, source: string): AnyProfileReport {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source} is not valid JSON (${(e as Error).message})`);
  }
  const r = data as { [field: string]: unknown; stages?: unknown[] } | null;
  if (!r || typeof r !== 'object' || r.format !== REPORT_FORMAT) {
    throw new Error(`${source} is not an effnet profile report (write one with: effnet profile --arch A --out ${source.endsWith('.json') ? source : 'x.json'})`);
  }
  if (r.backend !== undefined && r.backend !== 'webgpu' && r.backend !== 'cpu') throw new Error(`${source}: profile report of an unknown backend '${String(r.backend)}'`);
  const device = r.backend === 'cpu' ? 'runtime' : 'adapter';
  const missing = (['arch', 'res', 'batch', 'totalMs', 'timer', device] as const).filter((k) => r[k] === undefined);
  if (missing.length) throw new Error(`${source}: profile report lacks ${missing.join(', ')}`);
  if (!Array.isArray(r.stages) || r.stages.some((s) => typeof (s as { name?: unknown } | null)?.name !== 'string')) throw new Error(`${source}: profile report has no valid stages list`);
  return r as unknown as AnyProfileReport;
}

// ---- formatting shared by Markdown and HTML ----

export const fmtMs = (x: number | null): string => (x === null ? '—' : x < 1 ? x.toFixed(3) : x.toFixed(2));
const fmtPct = (x: number | null): string => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);
const fmtRate = (x: number | null): string => (x === null ? '—' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const mega = (x: number): string => (x / 1e6).toFixed(x < 1e7 ? 2 : 1);
export const fmtRatio = (x: number | null): string => (x === null ? '—' : `${x.toFixed(2)}×`);

/** FLOP per byte moved. */
export const intensity = (t: { flops: number; bytes: number }): number => (t.bytes > 0 ? t.flops / t.bytes : 0);

function timerDescription(r: AnyProfileReport): string {
  if (isCpu(r) && r.timer === 'trace') {
    return `${r.runtime.name}'s own profiler over runs of the whole network: each node's time added to the stage its tensor belongs to (the layout reorders it inserts go with the node they feed or drain)`;
  }
  if (isCpu(r)) {
    return 'wall clock (performance.now()) around each runtime call; each stage is a model file of its own (a way every CPU runtime can be timed), fed seeded random values of the shape the stage before it hands on';
  }
  if (r.timer === 'submit') {
    return 'submit — COARSE: wall time of whole inferences (submit to read-back, upload included); this adapter has no timestamp-query, so there are no per-stage or per-kernel times';
  }
  const q = r.timerResolutionNs === null ? 'resolution unknown (every delta was 0)' : `timestamps resolve ${formatNs(r.timerResolutionNs)}`;
  return `timestamp-query, a pass per ${r.detail ? 'kernel' : 'stage'}; ${q}`;
}

function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toPrecision(3)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toPrecision(3)} µs`;
  return `${ns} ns`;
}

function archDescription(r: AnyProfileReport): string {
  if (r.fusedStages === null) return r.arch;
  return `${r.arch} (${r.baseArch} with Fused-MBConv in stages 1..${r.fusedStages}: the V2 paper's Table 3 ablation)`;
}

export function reportTitle(r: AnyProfileReport): string {
  return `${r.arch} @ ${r.res}×${r.res}, batch ${r.batch}`;
}

/** One-line subtitle: adapter (or CPU runtime), timer and overhead. */
export function reportSubtitle(r: AnyProfileReport): string {
  if (isCpu(r) && r.timer === 'trace') return `${timedOn(r)} · ${r.host} · ${r.runtime.name}'s per-node profiler · overhead ${signedPct(r.overheadPct)}`;
  if (isCpu(r)) return `${timedOn(r)} · ${r.host} · wall-clock timer, a model file per stage · stages summed vs whole network ${signedPct(r.overheadPct)}`;
  const timer = r.timer === 'submit' ? 'submit timer (coarse)' : `timestamp-query${r.timerResolutionNs === null ? '' : ` (${formatNs(r.timerResolutionNs)})`}`;
  return `${adapterName(r.adapter)}${r.adapter.isFallback ? ' (software fallback)' : ''} · ${r.host} · ${timer} · overhead ${signedPct(r.overheadPct)}`;
}

const signedPct = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;

/** Which kernels and tiles the profiled schedule used. */
export function scheduleDescription(s: NonNullable<ProfileReport['schedule']>): string {
  const target = s.target === 'gpu' ? 'shaped for a hardware GPU (workgroup-memory GEMMs)' : 'shaped for SwiftShader (large register tiles)';
  return `${target}; ${s.tuning.entries ? `${s.tuning.entries} launches tuned on this device (${s.tuning.source})` : 'planned tiles, no tuning'}`;
}

/** The report's facts as label/value pairs (a list in Markdown, a definition list in HTML). */
export function summaryItems(r: AnyProfileReport): [string, string][] {
  const gap = (r.totalMs - r.unprofiledMs) / r.unprofiledMs;
  if (isCpu(r)) {
    return [
      ['architecture', archDescription(r)],
      ['input', `batch ${r.batch} × 3 × ${r.res} × ${r.res}`],
      ['runtime', `${r.runtime.detail} — the CPU backend: the weights written as ${r.runtime.format} model files and run by ${r.runtime.name}, not our WebGPU kernels`],
      ['host', 'Node'],
      ['weights', r.weights === 'random' ? 'random (timings do not depend on weight values)' : r.weights],
      ['timer', timerDescription(r)],
      ...(r.timer === 'trace'
        ? ([
            ['runs', `${r.runs} unprofiled runs of the whole network, then ${r.runs} under the profiler (after a warm-up of each); ms is the median, p10–p90 the spread`],
            ['total (sum of stages)', `${fmtMs(r.totalMs)} ms of node time; an unprofiled run of the whole network takes ${fmtMs(r.unprofiledMs)} ms, so the stages account for ${(100 + gap * 100).toFixed(1)}% of it (the rest: the runtime between nodes)`],
            ['profiler overhead', `${signedPct(r.overheadPct)}: profiled runs against unprofiled ones`],
          ] as [string, string][])
        : ([
            ['runs', `${r.runs} rounds, each the whole network then every stage once (after a warm-up of each); ms is the median, p10–p90 the spread`],
            ['total (sum of stages)', `${fmtMs(r.totalMs)} ms; the whole network as one model file takes ${fmtMs(r.unprofiledMs)} ms, so the stages account for ${(100 + gap * 100).toFixed(1)}% of it`],
            ['split overhead', `${signedPct(r.overheadPct)}: the stages as separate model files against the whole network as one (each cut adds a runtime call and copies the tensor there out of the runtime and back in; nothing is subtracted for it)`],
          ] as [string, string][])),
    ];
  }
  return [
    ['architecture', archDescription(r)],
    ['input', `batch ${r.batch} × 3 × ${r.res} × ${r.res}`],
    ['adapter', `${adapterName(r.adapter)} — ${r.adapter.isFallback ? 'software fallback adapter (CPU), so absolute times say little about a real GPU' : 'hardware adapter'}`],
    ['host', r.host === 'chrome' ? 'headless Chromium (puppeteer)' : 'Node (Dawn, npm webgpu)'],
    ...(r.schedule ? [['schedule', scheduleDescription(r.schedule)] as [string, string]] : []),
    ['weights', r.weights === 'random' ? 'random (timings do not depend on weight values)' : r.weights],
    ['timer', timerDescription(r)],
    ['runs', `${r.runs} profiled, alternating with ${r.runs} unprofiled (after a warm-up of each); ms is the median, p10–p90 the spread`],
    [
      r.timer === 'submit' ? 'total (submit timer)' : 'total (sum of stages)',
      `${fmtMs(r.totalMs)} ms; an unprofiled inference takes ${fmtMs(r.unprofiledMs)} ms wall (upload and read-back included)` +
        (r.timer === 'submit' ? '' : `, so the stages account for ${(100 + gap * 100).toFixed(1)}% of it`),
    ],
    ['profiling overhead', `${signedPct(r.overheadPct)} wall time, profiled vs unprofiled runs of the same schedule${r.detail ? ' (detail mode splits every kernel into its own pass)' : ''}`],
  ];
}

export interface Table {
  header: string[];
  /** Per column: right-aligned (numbers) or not. */
  numeric: boolean[];
  rows: string[][];
}

export function stageTable(r: AnyProfileReport): Table {
  const row = (name: string, block: string, res: string, t: ReportTiming) => [
    name, block, res, fmtMs(t.ms), t.p10Ms === null ? '—' : `${fmtMs(t.p10Ms)}–${fmtMs(t.p90Ms)}`, fmtPct(t.share),
    mega(t.flops), mega(t.bytes), fmtRate(t.gflops), fmtRate(t.gbps), intensity(t).toFixed(1),
  ];
  const flops = r.stages.reduce((a, s) => a + s.flops, 0);
  const bytes = r.stages.reduce((a, s) => a + s.bytes, 0);
  const total: ReportTiming = {
    ms: r.totalMs, p10Ms: null, p90Ms: null, share: r.timer === 'submit' ? null : 1, flops, bytes,
    gflops: flops / r.totalMs / 1e6, gbps: bytes / r.totalMs / 1e6,
  };
  return {
    header: ['stage', 'block', 'input', 'ms', 'p10–p90 ms', 'share', 'MFLOP', 'MB', 'GFLOP/s', 'GB/s', 'FLOP/B'],
    numeric: [false, false, false, true, true, true, true, true, true, true, true],
    rows: [...r.stages.map((s) => row(s.name, s.block, s.resolution, s)), row(r.timer === 'submit' ? 'total (submit)' : 'total', '', '', total)],
  };
}

export interface KernelType {
  kernel: string;
  launches: number;
  /** Summed median GPU time, in detail mode only. */
  ms: number | null;
  timeShare: number | null;
  flopShare: number;
  byteShare: number;
  flops: number;
  bytes: number;
}

/** All launches grouped by kernel: where the FLOPs and bytes are, and (in detail mode) where the time goes. */
export function kernelTypes(r: AnyProfileReport): KernelType[] {
  const all = r.stages.flatMap((s) => s.kernels);
  const flops = all.reduce((a, k) => a + k.flops, 0);
  const bytes = all.reduce((a, k) => a + k.bytes, 0);
  const timed = all.length > 0 && all.every((k) => k.ms !== null);
  const time = timed ? all.reduce((a, k) => a + k.ms!, 0) : 0;
  const byKernel = new Map<string, KernelReport[]>();
  for (const k of all) byKernel.set(k.kernel, [...(byKernel.get(k.kernel) ?? []), k]);
  return [...byKernel].map(([kernel, ks]) => {
    const ms = timed ? ks.reduce((a, k) => a + k.ms!, 0) : null;
    const f = ks.reduce((a, k) => a + k.flops, 0);
    const b = ks.reduce((a, k) => a + k.bytes, 0);
    return { kernel, launches: ks.length, ms, timeShare: ms === null ? null : ms / time, flopShare: f / flops, byteShare: b / bytes, flops: f, bytes: b };
  }).sort((a, b) => (b.ms ?? b.flops) - (a.ms ?? a.flops));
}

export function kernelTypeTable(r: AnyProfileReport): Table {
  return {
    // On the CPU runtime the rows are our op kinds (each a few nodes of the model file), untimed.
    header: [isCpu(r) ? 'op kind' : 'kernel', isCpu(r) ? 'ops' : 'launches', 'ms', 'time share', 'FLOP share', 'byte share', 'GFLOP/s', 'GB/s'],
    numeric: [false, true, true, true, true, true, true, true],
    rows: kernelTypes(r).map((k) => [
      k.kernel, String(k.launches), fmtMs(k.ms), fmtPct(k.timeShare), fmtPct(k.flopShare), fmtPct(k.byteShare),
      fmtRate(k.ms === null ? null : k.flops / k.ms / 1e6), fmtRate(k.ms === null ? null : k.bytes / k.ms / 1e6),
    ]),
  };
}

/** Every launch (detail mode). */
export function kernelTable(r: AnyProfileReport): Table {
  return {
    header: ['op', 'kernel', 'block', 'input', 'ms', 'p10–p90 ms', 'share', 'MFLOP', 'MB', 'GFLOP/s', 'GB/s'],
    numeric: [false, false, false, false, true, true, true, true, true, true, true],
    rows: r.stages.flatMap((s) => s.kernels).map((k) => [
      k.name, k.kernel, k.block, k.resolution, fmtMs(k.ms), k.p10Ms === null ? '—' : `${fmtMs(k.p10Ms)}–${fmtMs(k.p90Ms)}`,
      fmtPct(k.share), mega(k.flops), mega(k.bytes), fmtRate(k.gflops), fmtRate(k.gbps),
    ]),
  };
}

export function markdownTable(t: Table): string {
  const widths = t.header.map((h, i) => Math.max(h.length, 3, ...t.rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (t.numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (t.numeric[i] ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(t.header), rule, ...t.rows.map(line)].join('\n');
}

export function profileMarkdown(r: AnyProfileReport): string {
  const parts = [
    `# effnet profile: ${reportTitle(r)}`,
    '',
    ...summaryItems(r).map(([k, v]) => `- **${k}**: ${v}`),
    '',
    '## Stages',
    '',
    markdownTable(stageTable(r)),
    '',
    'FLOPs and bytes (activations read and written plus weights) are estimated from the tensor shapes.',
    '',
    isCpu(r) ? '## Op kinds' : '## Kernel types',
    '',
    markdownTable(kernelTypeTable(r)),
  ];
  if (isCpu(r)) parts.push('', CPU_OPS_NOTE);
  else if (!r.detail) parts.push('', 'Per-kernel times need `--detail` (a timed pass per kernel).');
  else parts.push('', '## Kernels', '', markdownTable(kernelTable(r)));
  return parts.join('\n') + '\n';
}

/** Why a CPU profile has no per-op times. */
export const CPU_OPS_NOTE = 'Per-op times are not measured on the CPU runtime (that would take a model file per op): the op kinds show where the FLOPs and bytes are.';

// ---- comparison ----

export interface CompareEntry {
  /** A, B, C, … */
  key: string;
  label: string;
  source: string;
  /** Whose time the entry's stages are. */
  time: 'GPU' | 'CPU';
}

export interface CompareRow {
  name: string;
  /** Block per report ('' where the report lacks the stage). */
  blocks: string[];
  ms: (number | null)[];
  /** ms relative to the first report. */
  ratio: (number | null)[];
}

export interface Comparison {
  entries: CompareEntry[];
  stages: CompareRow[];
  total: CompareRow;
}

function reportLabel(r: AnyProfileReport): string {
  const parts = [r.fusedStages === null ? r.arch : `${r.baseArch} fused 1..${r.fusedStages}`, `${r.res}px`, `batch ${r.batch}`, `${timedOn(r)} (${r.host})`];
  if (r.timer === 'submit') parts.push('submit timer');
  return parts.join(' · ');
}

/** Stage names in network order across reports (a stage only some reports have goes after its predecessor). */
function mergedStageNames(reports: AnyProfileReport[]): string[] {
  const names: string[] = [];
  for (const r of reports) {
    let at = 0;
    for (const s of r.stages) {
      const i = names.indexOf(s.name);
      if (i >= 0) at = i + 1;
      else names.splice(at++, 0, s.name);
    }
  }
  return names;
}

export function compareReports(reports: { report: AnyProfileReport; source: string }[]): Comparison {
  const rs = reports.map((x) => x.report);
  const row = (name: string, blocks: string[], ms: (number | null)[]): CompareRow => ({
    name,
    blocks,
    ms,
    ratio: ms.map((m) => (m === null || ms[0] === null || ms[0] === 0 ? null : m / ms[0]!)),
  });
  return {
    entries: reports.map((x, i) => ({ key: String.fromCharCode(65 + i), label: reportLabel(x.report), source: x.source, time: timeKind(x.report) })),
    stages: mergedStageNames(rs).map((name) => {
      const st = rs.map((r) => r.stages.find((s) => s.name === name));
      return row(name, st.map((s) => s?.block ?? ''), st.map((s) => s?.ms ?? null));
    }),
    total: row('total', rs.map(() => ''), rs.map((r) => r.totalMs)),
  };
}

export function compareTable(c: Comparison): Table {
  const keys = c.entries.map((e) => e.key);
  const stageCell = (s: CompareRow) => {
    const blocks = [...new Set(s.blocks.filter(Boolean))];
    return blocks.length > 1 ? `${s.name} (${s.blocks.map((b) => b || '—').join(' / ')})` : s.name;
  };
  const row = (s: CompareRow) => [stageCell(s), ...s.ms.map(fmtMs), ...s.ratio.slice(1).map(fmtRatio)];
  return {
    header: ['stage', ...keys.map((k) => `${k} ms`), ...keys.slice(1).map((k) => `${k}/${keys[0]}`)],
    numeric: [false, ...keys.map(() => true), ...keys.slice(1).map(() => true)],
    rows: [...c.stages.map(row), row(c.total)],
  };
}

export function compareMarkdown(c: Comparison): string {
  return [
    '# effnet profile comparison',
    '',
    ...c.entries.map((e) => `- **${e.key}**: ${e.label} (${e.source})`),
    '',
    markdownTable(compareTable(c)),
    '',
    `Stages are matched by name; ratios are relative to ${c.entries[0]!.key}; — marks a stage a report lacks or could not time.`,
  ].join('\n') + '\n';
}
