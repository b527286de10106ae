/**
 * `effnet report <kind>` as data: the JSON every kind writes (latency-table, fused-ablation, sweep, v1-vs-v2),
 * what is derived from it (ratios to published figures, speedups, the Pareto front), and the tables its
 * Markdown and HTML show. Pure code, shared by the CLI and the page script.
 */
import { adapterName, type AdapterReport } from '../../src/gpu.js';
import { fmtMs, markdownTable, type Table } from './model.js';
import type { FusedAblationRow, PublishedModel, Source } from './published.js';

export const KIND_REPORT_FORMAT = 'effnet-report';
export const REPORT_KINDS = ['latency-table', 'fused-ablation', 'sweep', 'v1-vs-v2'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

/** Why a cell has no measurement, or 'ok'. */
export type CellStatus = 'ok' | 'over-limit' | 'over-budget' | 'skipped' | 'failed';

export interface CellMemory {
  /**
   * The buffers the model will create, sized before any is allocated (the same packing, graph and liveness
   * arena the model builds): what decides whether a cell fits the device.
   */
  planned: { weightBytes: number; arenaBytes: number; stagingBytes: number; totalBytes: number; largestBufferBytes: number };
  /** model.memory() right after the cell ran (its schedule the only one cached), or null when it did not run. */
  measured: { weightBytes: number; scheduleBytes: number; schedules: number; stagingBytes: number; totalBytes: number } | null;
}

export interface StageTime {
  name: string;
  block: string;
  ms: number | null;
}

export interface Cell {
  res: number;
  batch: number;
  status: CellStatus;
  /** What limit, budget or error kept the cell from running. */
  reason: string | null;
  /** Median GPU time of an inference (sum of the timed stages; the submit time without timestamp-query). */
  ms: number | null;
  /** Median wall time of an unprofiled inference, upload and read-back included. */
  wallMs: number | null;
  imagesPerS: number | null;
  memory: CellMemory;
  stages: StageTime[];
}

export interface ReportRow {
  /** The architecture measured (a zoo name, or a derived table's name such as efficientnet_b4_fused3). */
  arch: string;
  label: string;
  /** Parameters and FLOPs (2 × multiply-adds) at the architecture's own resolution. */
  params: number;
  flops: number;
  resolution: number;
  /** Stages turned into Fused-MBConv (fused-ablation), else null. */
  fusedStages: number | null;
  published: PublishedModel | null;
  /** The EfficientNetV2 paper's Table 3 row for this variant (fused-ablation). */
  paper: FusedAblationRow | null;
  cells: Cell[];
}

export interface KindReport {
  format: typeof KIND_REPORT_FORMAT;
  kind: ReportKind;
  host: 'node' | 'chrome';
  adapter: AdapterReport;
  timer: 'timestamp-query' | 'submit' | null;
  runs: number;
  budgetS: number | null;
  memoryBudgetBytes: number | null;
  resolutions: number[];
  batches: number[];
  rows: ReportRow[];
  /** The sources of every published figure shown, by id. */
  sources: Record<string, Source>;
  createdAt: string;
}

export const KIND_TITLES: Record<ReportKind, string> = {
  'latency-table': 'Latency table (PaddleClas style)',
  'fused-ablation': 'Fused-MBConv ablation (EfficientNetV2 paper, Table 3)',
  sweep: 'Batch × resolution sweep',
  'v1-vs-v2': 'EfficientNet V1 vs V2: latency against ImageNet top-1',
};

// ---- derived figures ----

export const ok = (c: Cell | undefined): c is Cell & { ms: number; imagesPerS: number } => !!c && c.status === 'ok' && c.ms !== null && c.imagesPerS !== null;
export const cellAt = (row: ReportRow, res: number, batch: number): Cell | undefined => row.cells.find((c) => c.res === res && c.batch === batch);
/** The cell of `row` at its own resolution (or the one resolution measured) and `batch`. */
export const rowCell = (row: ReportRow, batch: number): Cell | undefined => row.cells.find((c) => c.batch === batch);

/** Our ms over the published V100 ms, where the cell ran at the published crop (other sizes compare nothing). */
export function v100Ratio(row: ReportRow, batch: number): number | null {
  const c = rowCell(row, batch);
  const ref = row.published?.v100Ms?.[batch];
  if (!ok(c) || ref === undefined || c.res !== row.published?.crop) return null;
  return c.ms / ref;
}

/** Images/s of `row` over the first row's (the unfused network) at the same batch. */
export function speedupVsFirst(r: KindReport, row: ReportRow, batch: number): number | null {
  const a = rowCell(r.rows[0]!, batch);
  const b = rowCell(row, batch);
  return ok(a) && ok(b) ? b.imagesPerS / a.imagesPerS : null;
}

/** The paper's training throughput of the row over its unfused row's, on V100 and on TPU. */
export function paperSpeedup(r: KindReport, row: ReportRow): { v100: number; tpu: number } | null {
  const base = r.rows[0]!.paper;
  if (!row.paper || !base) return null;
  return { v100: row.paper.v100ImagesPerS / base.v100ImagesPerS, tpu: row.paper.tpuImagesPerS / base.tpuImagesPerS };
}

export interface ParetoPoint {
  arch: string;
  family: string;
  top1: number;
  ms: number;
  front: boolean;
}

/** Every measured row with a published top-1, and whether it is on the front (no other is both faster and more accurate). */
export function paretoPoints(r: KindReport): ParetoPoint[] {
  const batch = r.batches[0]!;
  const pts = r.rows.flatMap((row) => {
    const c = rowCell(row, batch);
    return ok(c) && row.published ? [{ arch: row.arch, family: row.published.family, top1: row.published.top1, ms: c.ms }] : [];
  });
  return pts.map((p) => ({ ...p, front: !pts.some((q) => q !== p && q.ms <= p.ms && q.top1 >= p.top1 && (q.ms < p.ms || q.top1 > p.top1)) }));
}

export interface EqualAccuracy {
  arch: string;
  top1: number;
  ms: number;
  /** The fastest model of another family that is at least as accurate, or null when none is. */
  rival: { arch: string; top1: number; ms: number } | null;
  /** rival ms / this ms: how many times faster this model is at equal or better accuracy. */
  speedup: number | null;
}

/**
 * The V2 paper's claim, checked: for each model of the last family in the report (V2), the fastest model of the
 * other families with at least its top-1, and how much faster the V2 model runs here.
 */
export function equalAccuracy(r: KindReport): EqualAccuracy[] {
  const pts = paretoPoints(r);
  const families = [...new Set(pts.map((p) => p.family))];
  const newest = families[families.length - 1];
  return pts.filter((p) => p.family === newest && families.length > 1).map((p) => {
    const rivals = pts.filter((q) => q.family !== newest && q.top1 >= p.top1).sort((a, b) => a.ms - b.ms);
    const rival = rivals[0] ?? null;
    return { arch: p.arch, top1: p.top1, ms: p.ms, rival: rival && { arch: rival.arch, top1: rival.top1, ms: rival.ms }, speedup: rival ? rival.ms / p.ms : null };
  });
}

export interface StageVerdict {
  stage: string;
  /** Block kind of the stage per row, in row order. */
  blocks: string[];
  ms: (number | null)[];
}

/** Per-stage times of every row at `batch` (fused-ablation): where Fused-MBConv wins and where it loses. */
export function stageSplit(r: KindReport, batch: number): StageVerdict[] {
  const names: string[] = [];
  for (const row of r.rows) for (const s of rowCell(row, batch)?.stages ?? []) if (!names.includes(s.name)) names.push(s.name);
  return names.map((stage) => {
    const st = r.rows.map((row) => rowCell(row, batch)?.stages.find((s) => s.name === stage));
    return { stage, blocks: st.map((s) => s?.block ?? ''), ms: st.map((s) => s?.ms ?? null) };
  });
}

/** The batch the per-stage split is shown at: the largest one every row ran. */
export function splitBatch(r: KindReport): number | null {
  const ran = r.batches.filter((b) => r.rows.every((row) => ok(rowCell(row, b)) && rowCell(row, b)!.stages.some((s) => s.ms !== null)));
  return ran.length ? ran[ran.length - 1]! : null;
}

// ---- formatting ----

const MB = 2 ** 20;
export const fmtMB = (b: number | null | undefined): string => (b === null || b === undefined ? '—' : (b / MB).toFixed(b < 10 * MB ? 2 : 1));
const fmtX = (x: number | null): string => (x === null ? '—' : `${x.toFixed(2)}×`);
const fmtRate = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const fmtM = (x: number): string => (x / 1e6).toFixed(2);
const fmtG = (x: number): string => (x / 1e9).toFixed(2);
const cellMs = (c: Cell | undefined): string => (ok(c) ? fmtMs(c.ms) : c ? c.status : '—');
const cellRate = (c: Cell | undefined): string => (ok(c) ? fmtRate(c.imagesPerS) : '—');

export interface Section {
  title: string;
  table: Table;
  notes: string[];
}

function latencySections(r: KindReport): Section[] {
  const bs = r.batches;
  const header = ['model', 'input', 'top-1 %', 'params M', 'GFLOPs@crop', ...bs.flatMap((b) => [`ms b=${b}`, `img/s b=${b}`, `V100 ms b=${b}`, `/V100 b=${b}`])];
  const rows = r.rows.map((row) => {
    const p = row.published;
    const sizes = [...new Set(row.cells.map((c) => c.res))];
    const input = p?.crop === undefined ? sizes.join(', ') : sizes.length === 1 && sizes[0] === p.crop ? `${p.crop} (resize ${p.resizeShort})` : `${sizes.join(', ')} (published: ${p.crop}, resize ${p.resizeShort})`;
    return [
      row.label, input, p ? p.top1.toFixed(1) : '—', fmtM(row.params), fmtG(row.flops),
      ...bs.flatMap((b) => {
        const c = rowCell(row, b);
        const ref = p?.v100Ms?.[b];
        return [cellMs(c), cellRate(c), ref === undefined ? '—' : ref.toFixed(2), fmtX(v100Ratio(row, b))];
      }),
    ];
  });
  return [{
    title: 'Latency and throughput',
    table: { header, numeric: header.map((_, i) => i >= 2), rows },
    notes: [
      'ms: median GPU time of one inference of the whole batch; img/s = batch / ms. The resize (short side) is the published preprocessing; we time the network on the crop.',
      'V100 ms and top-1: published figures (sources below); /V100 is our ms over theirs, shown only where we ran the published crop.',
    ],
  }];
}

function ablationSections(r: KindReport): Section[] {
  const bs = r.batches;
  const header = ['variant', 'params M', 'paper params M', 'GFLOPs', 'paper GFLOPs', ...bs.flatMap((b) => [`ms b=${b}`, `img/s b=${b}`, `speedup b=${b}`]), 'paper V100 speedup', 'paper TPU speedup'];
  const rows = r.rows.map((row) => {
    const ps = paperSpeedup(r, row);
    return [
      row.label, fmtM(row.params), row.paper ? row.paper.paramsM.toFixed(1) : '—', fmtG(row.flops), row.paper ? (2 * row.paper.macsB).toFixed(1) : '—',
      ...bs.flatMap((b) => [cellMs(rowCell(row, b)), cellRate(rowCell(row, b)), fmtX(speedupVsFirst(r, row, b))]),
      fmtX(ps?.v100 ?? null), fmtX(ps?.tpu ?? null),
    ];
  });
  const sections: Section[] = [{
    title: 'Parameters, FLOPs and throughput',
    table: { header, numeric: header.map((_, i) => i >= 1), rows },
    notes: [
      `GFLOPs counted at ${r.rows[0]?.resolution ?? '—'}×${r.rows[0]?.resolution ?? '—'} as 2 × multiply-adds; the paper's "FLOPs (B)" are multiply-adds, doubled here to compare.`,
      'speedup: images/s over the unfused network at the same batch, on this device (inference). The paper\'s speedups are TRAINING throughput (forward and backward) on a V100 and a TPUv3 core, so they agree with ours in direction at best, not in size.',
      ...paramNotes(r),
    ],
  }];
  const b = splitBatch(r);
  if (b !== null) {
    const split = stageSplit(r, b);
    const keys = r.rows.map((row) => row.fusedStages === null ? row.label : `F${row.fusedStages}`);
    sections.push({
      title: `Per-stage GPU time at batch ${b}`,
      table: {
        header: ['stage', ...keys.map((k) => `${k} ms`), ...keys.slice(1).map((k) => `${k}/${keys[0]}`)],
        numeric: [false, ...keys.map(() => true), ...keys.slice(1).map(() => true)],
        rows: split.map((s) => [
          s.stage, ...s.ms.map((m, i) => `${fmtMs(m)} ${blockLetter(s.blocks[i]!)}`),
          ...s.ms.slice(1).map((m) => fmtX(m === null || s.ms[0] === null || s.ms[0] === 0 ? null : m / s.ms[0]!)),
        ]),
      },
      notes: [
        'F<k>: Fused-MBConv in stages 1..k. MBConv: expand 1×1 + depthwise k×k; Fused: one full k×k conv. A ratio below 1× is a stage that ran faster than in F' + (r.rows[0]!.fusedStages ?? 0) + '.',
        ...stageVerdicts(r, split),
      ],
    });
  }
  return sections;
}

const BLOCK_NAMES: Record<string, string> = { mbconv: 'MBConv', fused: 'Fused' };
const blockLetter = (block: string): string => (BLOCK_NAMES[block] ? `(${BLOCK_NAMES[block]})` : '');

/** Where our parameter and FLOP counts differ from the paper's (by more than 2% and 5%), and why they may. */
function paramNotes(r: KindReport): string[] {
  const flopsOff = r.rows.filter((row) => row.paper && Math.abs(row.flops / 1e9 / (2 * row.paper.macsB) - 1) > 0.05);
  const flopNotes = flopsOff.length
    ? [`FLOPs differ from the paper by more than 5% for ${flopsOff.map((row) => `${row.label} (${fmtG(row.flops)} vs ${(2 * row.paper!.macsB).toFixed(1)} GFLOPs)`).join(', ')}. ` +
        `The paper states neither the input size nor the exact blocks behind its counts; ours are at ${r.rows[0]!.resolution} px, the base network's evaluation size, and count every conv, SE and the classifier (BN, activations and pooling excluded).`]
    : r.rows.some((row) => row.paper) ? ['FLOP counts agree with the paper within 5%.'] : [];
  const off = r.rows.filter((row) => row.paper && Math.abs(row.params / 1e6 / row.paper.paramsM - 1) > 0.02);
  if (!off.length) return [...(r.rows.some((row) => row.paper) ? ['Parameter counts agree with the paper within 2%.'] : []), ...flopNotes];
  return [
    ...flopNotes,
    `Parameters differ from the paper by more than 2% for ${off.map((row) => `${row.label} (${fmtM(row.params)} M vs ${row.paper!.paramsM.toFixed(1)} M)`).join(', ')}. ` +
      'The paper publishes the table, not the ablation networks: ours are withFusedStages (each MBConv stage keeps its expand ratio, kernel, stride and width, becomes Fused-MBConv as torchvision defines it, and drops SE), so a different choice of expand ratio or SE in the paper\'s variants moves its counts.',
  ];
}

/**
 * One line per stage that some variant fused: how its time moved against the unfused network. Stages every
 * variant runs unchanged gauge the noise: their ratios should be 1×, and a fused stage's ratio inside their
 * spread says nothing.
 */
function stageVerdicts(r: KindReport, split: StageVerdict[]): string[] {
  const same = split.flatMap((s) => (s.blocks.every((b) => b === s.blocks[0]) && s.ms[0] ? s.ms.slice(1).flatMap((m) => (m === null ? [] : [m / s.ms[0]!])) : []));
  // The band always holds 1×: a shared stage's true ratio.
  const [lo, hi] = [Math.min(1, ...same), Math.max(1, ...same)];
  const lines = same.length ? [`Stages the variants share ran at ${fmtX(lo)}–${fmtX(hi)} of ${r.rows[0]!.label}: that spread is this device's run-to-run noise, and a fused stage inside it is no verdict.`] : [];
  return lines.concat(split.flatMap((s) => {
    const base = s.ms[0];
    const changed = s.blocks.map((b, i) => ({ b, i })).filter(({ b, i }) => i > 0 && b !== s.blocks[0] && s.ms[i] !== null);
    if (base === null || base === undefined || !changed.length) return [];
    const { i } = changed[0]!;
    const ratio = s.ms[i]! / base;
    const verdict = ratio >= lo && ratio <= hi ? 'within the noise' : ratio < 1 ? 'the fused block wins here' : 'the depthwise block wins here';
    return [`${s.stage}: ${s.blocks[0]} ${fmtMs(base)} ms → ${s.blocks[i]} ${fmtMs(s.ms[i]!)} ms in ${r.rows[i]!.label} (${fmtX(ratio)}): ${verdict}.`];
  }));
}

function sweepSections(r: KindReport): Section[] {
  const row = r.rows[0]!;
  const l = r.adapter.limits;
  const header = ['res', 'batch', 'status', 'ms', 'img/s', 'weights MB', 'arena MB', 'staging MB', 'total MB', 'largest buffer MB'];
  const rows = row.cells.map((c) => {
    const m = c.memory;
    return [
      String(c.res), String(c.batch), c.status, ok(c) ? fmtMs(c.ms) : '—', cellRate(c),
      fmtMB(m.measured?.weightBytes ?? m.planned.weightBytes), fmtMB(m.planned.arenaBytes),
      fmtMB(m.measured?.stagingBytes ?? m.planned.stagingBytes), `${fmtMB(peakBytes(c))}${m.measured ? '' : ' (planned)'}`, fmtMB(m.planned.largestBufferBytes),
    ];
  });
  return [{
    title: `${row.label}: batch × resolution`,
    table: { header, numeric: [true, true, false, true, true, true, true, true, true, true], rows },
    notes: [
      `Device limits: maxStorageBufferBindingSize ${fmtMB(l.maxStorageBufferBindingSize)} MB, maxBufferSize ${fmtMB(l.maxBufferSize)} MB${r.memoryBudgetBytes === null ? '' : `; memory budget (--memory-budget) ${fmtMB(r.memoryBudgetBytes)} MB`}.`,
      'Every cell is planned before anything is allocated: weights as packed, the liveness arena of its graph, the read-back buffer. A cell whose largest buffer exceeds a limit, or whose total exceeds the budget, is marked and not run.',
      'total MB: model.memory() after the run (weights + this shape\'s schedule: arena and uniforms + read-back buffers kept), exact; (planned) where the cell did not run.',
      ...row.cells.filter((c) => c.status !== 'ok').map((c) => `${c.res}×${c.res}, batch ${c.batch} — ${c.status}: ${c.reason}`),
    ],
  }];
}

export const peakBytes = (c: Cell): number => c.memory.measured?.totalBytes ?? c.memory.planned.totalBytes;

function v1v2Sections(r: KindReport): Section[] {
  const b = r.batches[0]!;
  const front = new Set(paretoPoints(r).filter((p) => p.front).map((p) => p.arch));
  const header = ['model', 'family', 'input', 'top-1 %', 'params M', 'GFLOPs@own res', `ms b=${b}`, `img/s b=${b}`, 'Pareto front'];
  const rows = r.rows.map((row) => {
    const c = rowCell(row, b);
    return [row.label, row.published?.family ?? '—', c ? String(c.res) : '—', row.published ? row.published.top1.toFixed(1) : '—', fmtM(row.params), fmtG(row.flops), cellMs(c), cellRate(c), front.has(row.arch) ? 'yes' : ''];
  });
  const eq = equalAccuracy(r);
  const sections: Section[] = [{
    title: 'Latency against published top-1',
    table: { header, numeric: [false, false, true, true, true, true, true, true, false], rows },
    notes: [
      'On the Pareto front: no other model here is both faster on this device and more accurate. GFLOPs at each model\'s own resolution, where its top-1 was measured.',
      ...r.rows.filter((row) => row.cells.some((c) => c.res !== row.resolution)).map((row) => `${row.label} ran at ${[...new Set(row.cells.map((c) => c.res))].join(', ')} px, not at the ${row.resolution} px its top-1 belongs to: a small grid checks the machinery, not the claim.`),
    ],
  }];
  if (eq.length) {
    sections.push({
      title: 'At equal accuracy',
      table: {
        header: ['model', 'top-1 %', 'ms', 'fastest other model at ≥ its top-1', 'its top-1 %', 'its ms', 'speedup'],
        numeric: [false, true, true, false, true, true, true],
        rows: eq.map((e) => [e.arch, e.top1.toFixed(1), fmtMs(e.ms), e.rival?.arch ?? 'none reaches it', e.rival ? e.rival.top1.toFixed(1) : '—', e.rival ? fmtMs(e.rival.ms) : '—', fmtX(e.speedup)]),
      },
      notes: ['The V2 paper claims V2 is up to 3× faster at equal accuracy (on its GPUs and TPUs); speedup is that ratio on this device.'],
    });
  }
  return sections;
}

export function kindSections(r: KindReport): Section[] {
  switch (r.kind) {
    case 'latency-table': return latencySections(r);
    case 'fused-ablation': return ablationSections(r);
    case 'sweep': return sweepSections(r);
    case 'v1-vs-v2': return v1v2Sections(r);
  }
}

export function kindSubtitle(r: KindReport): string {
  const timer = r.timer === 'submit' ? 'submit timer (coarse)' : r.timer === 'timestamp-query' ? 'timestamp-query' : 'nothing timed';
  return `${adapterName(r.adapter)}${r.adapter.isFallback ? ' (software fallback)' : ''} · ${r.host} · ${timer} · ${r.runs} run(s) per cell`;
}

export function kindSummary(r: KindReport): [string, string][] {
  const counts = new Map<CellStatus, number>();
  for (const c of r.rows.flatMap((row) => row.cells)) counts.set(c.status, (counts.get(c.status) ?? 0) + 1);
  return [
    ['adapter', `${adapterName(r.adapter)} — ${r.adapter.isFallback ? 'software fallback adapter (CPU): absolute times say little about a real GPU' : 'hardware adapter'}`],
    ['host', r.host === 'chrome' ? 'headless Chromium (puppeteer)' : 'Node (Dawn, npm webgpu)'],
    ['grid', `${r.rows.length} model(s) × resolution(s) ${r.resolutions.join(', ')} × batch ${r.batches.join(', ')}`],
    ['cells', [...counts].map(([s, n]) => `${n} ${s}`).join(', ')],
    ['weights', 'random (timings do not depend on weight values)'],
    ['timing', `per cell: a warm-up, then ${r.runs} timed inference(s) (median)${r.budgetS === null ? '' : `; cells past the ${r.budgetS} s budget are skipped`}`],
  ];
}

export function kindMarkdown(r: KindReport): string {
  const lines = [`# effnet report ${r.kind}: ${KIND_TITLES[r.kind]}`, '', kindSubtitle(r), ''];
  for (const [k, v] of kindSummary(r)) lines.push(`- **${k}**: ${v}`);
  for (const s of kindSections(r)) {
    lines.push('', `## ${s.title}`, '', markdownTable(s.table), '');
    for (const n of s.notes) lines.push(`- ${n}`);
  }
  const sources = Object.values(r.sources);
  if (sources.length) {
    lines.push('', '## Sources', '');
    for (const s of sources) lines.push(`- **${s.name}**: ${s.where}. ${s.setting}.`);
  }
  return lines.join('\n') + '\n';
}
