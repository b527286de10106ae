/**
 * `npm run soak -- [--runs 1000] [--cycles 100] [--shapes 32] [--res 96] [--budget-mb 256] [--stall-ms 100] [--json]`
 *
 * A long-running service's view of the engine, in Node on the shared device that `loadModel` leases: RSS, JS
 * heap and live GPU buffers (counted through a wrapped device, bench/buffer-census.ts) sampled through three
 * phases, each with a bound it must stay within (exit 1 past any, naming it):
 *   1. runs: one B0 model, `runs` inferences of one shape (res×res, batch 1) on its tuned schedule. Over the last 90% of the runs
 *      RSS and the live-buffer count stay within 5% (RSS) and exactly flat (buffers); the event loop never
 *      stalls more than `stall-ms` (100 ms) between the warm-up and the end.
 *   2. cycles: `cycles` times load, run, dispose (every tenth cycle runs the shape three times and disposes at
 *      once, while the tuned schedule is still compiling). RSS after the last cycle is within 50 MB of its
 *      value after cycle 10 (so `cycles` ≥ 20), 0 buffers are live once detached compiles settle, and every
 *      dispose() returns within 100 ms.
 *   3. shapes: one model with the default schedule cache (or `--budget-mb`), `shapes` distinct input sizes at
 *      batch 4, each run three times (so its tuned schedule compiles too). After every run the schedules hold
 *      no more than the budget (or only the one in use, if that alone exceeds it), and the census's live bytes
 *      equal `model.memory().totalBytes` — the model's accounting is exact.
 * CI runs a reduced soak (test/soak.node.test.ts); the full one is for developers and releases.
 */
import { loadModel } from '../src/api.js';
import { formatAdapter, leaseSharedGpu } from '../src/gpu.js';
import type { Model } from '../src/runtime/model.js';
import { intFlag, parseFlags } from '../tools/harness/flags.js';
import { bufferCensus, type Census } from './buffer-census.js';
import { stallMonitor } from './event-loop.js';

interface Sample {
  phase: string;
  step: number;
  rssMB: number;
  heapMB: number;
  liveBuffers: number;
  liveMB: number;
}

interface Check {
  phase: string;
  what: string;
  value: string;
  bound: string;
  ok: boolean;
}

const MB = 2 ** 20;
const STALL_BOUND_MS = 100;
const DISPOSE_BOUND_MS = 100;

async function settle(census: Census, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (census.live > 0 && performance.now() < end) await new Promise((r) => setTimeout(r, 100));
}

async function main(): Promise<void> {
  const { flags } = parseFlags(process.argv.slice(2), { strings: ['runs', 'cycles', 'shapes', 'res', 'budget-mb', 'stall-ms'], booleans: ['json'] });
  const runs = intFlag(flags.runs, 'runs', 1000, 10);
  const cycles = intFlag(flags.cycles, 'cycles', 100, 20);
  const shapes = intFlag(flags.shapes, 'shapes', 32);
  const res = intFlag(flags.res, 'res', 96, 32);
  const budgetMB = flags['budget-mb'] === undefined ? undefined : intFlag(flags['budget-mb'], 'budget-mb', 256, 0);
  const stallBoundMs = intFlag(flags['stall-ms'], 'stall-ms', STALL_BOUND_MS, 1);
  const log = (s: string) => process.stderr.write(s + '\n');

  // Wrap the shared device before any model leases it, so every buffer the models make is counted.
  const gpu = await leaseSharedGpu();
  const census = bufferCensus(gpu.device);
  log(`soak on ${formatAdapter(gpu.report)}: ${runs} runs, ${cycles} load/dispose cycles, ${shapes} shapes`);
  const samples: Sample[] = [];
  const checks: Check[] = [];
  const sample = (phase: string, step: number): Sample => {
    const m = process.memoryUsage();
    const s = { phase, step, rssMB: m.rss / MB, heapMB: m.heapUsed / MB, liveBuffers: census.live, liveMB: census.liveBytes / MB };
    samples.push(s);
    return s;
  };
  const check = (phase: string, what: string, value: string, bound: string, ok: boolean) => {
    checks.push({ phase, what, value, bound, ok });
    log(`${ok ? 'ok  ' : 'FAIL'} ${phase}: ${what} ${value} (bound: ${bound})`);
  };
  const image = (batch: number, size: number) => {
    const data = new Float32Array(batch * 3 * size * size);
    for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.01);
    return { data, shape: [batch, 3, size, size] };
  };
  const stalls = stallMonitor();

  // 1. Many runs of one shape.
  {
    const model = await loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: 'random' });
    const x = image(1, res);
    // The runs measure the steady state: the tuned schedule, not the quick one and the compile that replaces it.
    await model.prepare({ batch: 1, height: res, width: res });
    const every = Math.max(1, Math.floor(runs / 100));
    const warm = Math.floor(runs / 10);
    for (let i = 1; i <= runs; i++) {
      await model.run(x);
      if (i === warm) stalls.take();
      if (i % every === 0) sample('runs', i);
      if (i % (every * 10) === 0) log(`runs: ${i}/${runs}, rss ${samples.at(-1)!.rssMB.toFixed(0)} MB, ${census.live} live buffers`);
    }
    const steady = samples.filter((s) => s.phase === 'runs' && s.step > warm);
    const rss = steady.map((s) => s.rssMB);
    const spread = (Math.max(...rss) - Math.min(...rss)) / Math.min(...rss);
    check('runs', `RSS over runs ${warm + 1}–${runs}`, `${Math.min(...rss).toFixed(0)}–${Math.max(...rss).toFixed(0)} MB (${(spread * 100).toFixed(1)}%)`, '≤ 5%', spread <= 0.05);
    const live = steady.map((s) => s.liveBuffers);
    check('runs', `live buffers over runs ${warm + 1}–${runs}`, `${Math.min(...live)}–${Math.max(...live)}`, 'flat', Math.min(...live) === Math.max(...live));
    const stall = stalls.take();
    check('runs', 'longest event-loop stall after warm-up', `${stall.toFixed(0)} ms`, `≤ ${stallBoundMs} ms`, stall <= stallBoundMs);
    model.dispose();
  }

  // 2. Load / dispose cycles.
  {
    const x = image(1, res);
    // The first cycles still grow (allocator pools, JIT): the bound is on what follows cycle 10.
    const mark = 10;
    let rssAtMark = 0;
    let worstDispose = 0;
    for (let c = 1; c <= cycles; c++) {
      const model: Model = await loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: 'random' });
      const times = c % 10 === 0 ? 3 : 1;
      for (let r = 0; r < times; r++) await model.run(x);
      const t0 = performance.now();
      model.dispose();
      worstDispose = Math.max(worstDispose, performance.now() - t0);
      (globalThis as { gc?: () => void }).gc?.();
      const s = sample('cycles', c);
      if (c === mark) rssAtMark = s.rssMB;
      if (c % 10 === 0) log(`cycles: ${c}/${cycles}, rss ${s.rssMB.toFixed(0)} MB, ${census.live} live buffers`);
    }
    await settle(census, 60_000);
    const end = sample('cycles', cycles + 1);
    check('cycles', `RSS after cycle ${cycles} − after cycle ${mark}`, `${(end.rssMB - rssAtMark).toFixed(1)} MB`, '≤ 50 MB', end.rssMB - rssAtMark <= 50);
    check('cycles', 'live buffers after the last dispose', String(end.liveBuffers), '0', end.liveBuffers === 0);
    check('cycles', 'slowest dispose()', `${worstDispose.toFixed(1)} ms`, `≤ ${DISPOSE_BOUND_MS} ms`, worstDispose <= DISPOSE_BOUND_MS);
  }

  // 3. Many shapes through one bounded schedule cache.
  {
    const model = await loadModel({ backend: 'webgpu', arch: 'efficientnet_b0', weights: 'random', ...(budgetMB === undefined ? {} : { scheduleCacheBytes: budgetMB * MB }) });
    const budget = model.memory().schedules.budgetBytes;
    let worstOver = -Infinity;
    let exact = true;
    let most = 0;
    stalls.take();
    for (let i = 0; i < shapes; i++) {
      const size = 96 + 8 * i;
      const x = image(4, size);
      for (let r = 0; r < 3; r++) {
        await model.run(x);
        const m = model.memory();
        most = Math.max(most, m.schedules.bytes);
        // Over budget is allowed only when the schedule in use is all that is kept.
        if (m.schedules.schedules > 1) worstOver = Math.max(worstOver, m.schedules.bytes - budget);
        exact &&= census.liveBytes === m.totalBytes;
      }
      const s = sample('shapes', i + 1);
      if ((i + 1) % 4 === 0) log(`shapes: ${i + 1}/${shapes} (${size}×${size}×4), schedules ${(most / MB).toFixed(0)} MB at most, ${model.memory().schedules.evictions} evicted, live ${s.liveMB.toFixed(0)} MB`);
    }
    const m = model.memory();
    check('shapes', 'most GPU memory the schedules held', `${(most / MB).toFixed(1)} MB (${m.schedules.evictions} evictions)`, `budget ${(budget / MB).toFixed(0)} MB`, worstOver <= 0);
    check('shapes', 'census live bytes = model.memory().totalBytes after every run', exact ? 'equal' : 'differed', 'equal', exact);
    const stall = stalls.take();
    log(`shapes: longest event-loop stall ${stall.toFixed(0)} ms (compiles of new shapes included; not bounded)`);
    model.dispose();
  }
  stalls.stop();
  gpu.destroy();

  const failed = checks.filter((c) => !c.ok);
  if (flags.json) {
    console.log(JSON.stringify({ adapter: gpu.report, runs, cycles, shapes, res, checks, samples }, null, 1));
  } else {
    console.log(`# soak: ${formatAdapter(gpu.report)}\n`);
    console.log('| phase | check | measured | bound | |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const c of checks) console.log(`| ${c.phase} | ${c.what} | ${c.value} | ${c.bound} | ${c.ok ? 'ok' : 'FAIL'} |`);
    console.log('\n| phase | step | RSS MB | JS heap MB | live buffers | live GPU MB |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    const shown = samples.filter((s, i) => i === 0 || s.phase !== samples[i - 1]!.phase || s.step % 10 === 0 || i === samples.length - 1);
    for (const s of shown) console.log(`| ${s.phase} | ${s.step} | ${s.rssMB.toFixed(0)} | ${s.heapMB.toFixed(1)} | ${s.liveBuffers} | ${s.liveMB.toFixed(1)} |`);
  }
  if (failed.length) {
    console.error(`soak: ${failed.length} bound(s) broken: ${failed.map((c) => `${c.phase}: ${c.what}`).join('; ')}`);
    const top = census.byLabel().slice(0, 5);
    if (top.length) console.error(`soak: live buffers by label: ${top.map((t) => `${t.label} ×${t.count} (${(t.bytes / MB).toFixed(1)} MB)`).join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  console.error(`soak: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
