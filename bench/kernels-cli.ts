/**
 * `npm run bench:kernels -- [--host chrome|node] [--arch efficientnet_b0,efficientnet_v2_s] [--runs N] [--json]`
 * Times every distinct kernel launch of the models and the fused-vs-unfused paths.
 */
import { BROWSER_DIST, openChrome, parseFlags } from '../tools/harness/index.js';
import { acquireGpu, formatAdapter, type AdapterReport } from '../src/gpu.js';
import { benchKernels, type FusionRow, type KernelRow } from './kernels.js';

type Result = { adapter: AdapterReport; kernels: KernelRow[]; fusion: FusionRow[] };

async function main(): Promise<void> {
  const { flags } = parseFlags(process.argv.slice(2), { strings: ['host', 'arch', 'runs'], booleans: ['json'] });
  const host = (flags.host as string | undefined) ?? 'chrome';
  const archs = ((flags.arch as string | undefined) ?? 'efficientnet_b0,efficientnet_v2_s').split(',');
  const runs = Number(flags.runs ?? 5);
  const log = (s: string) => process.stderr.write(s + '\n');
  let result: Result;
  if (host === 'node') {
    const gpu = await acquireGpu();
    try {
      result = { adapter: gpu.report, ...(await benchKernels(gpu, { archs, runs, log })) };
    } finally {
      gpu.destroy();
    }
  } else if (host === 'chrome') {
    const chrome = await openChrome({ '': BROWSER_DIST }, { log: (s) => log(s.replace(/^\[chrome log\] /, '')) });
    try {
      await chrome.page.addScriptTag({ url: '/bench.js', type: 'module' });
      await chrome.page.waitForFunction('globalThis.effnetBench !== undefined');
      result = await chrome.page.evaluate(
        (a, r) => (globalThis as unknown as { effnetBench: { kernels(o: object): Promise<Result> } }).effnetBench.kernels({ archs: a, runs: r }),
        archs,
        runs,
      );
    } finally {
      await chrome.close();
    }
  } else {
    throw new Error(`--host must be chrome or node, got ${host}`);
  }
  if (flags.json) {
    console.log(JSON.stringify({ host, ...result }, null, 1));
    return;
  }
  console.log(`# kernel benchmark on ${host}: ${formatAdapter(result.adapter)}\n`);
  console.log('| model | op | kernel | layers | ms | GFLOP/s | GB/s | shape |');
  console.log('| --- | --- | --- | ---: | ---: | ---: | ---: | --- |');
  for (const r of result.kernels) {
    console.log(`| ${r.arch} | ${r.op} | ${r.kernel} | ${r.count} | ${r.ms.toFixed(3)} | ${r.gflops.toFixed(2)} | ${r.gbps.toFixed(2)} | ${r.shape} |`);
  }
  console.log('\n| fusion | shape | fused ms | unfused ms | saved |');
  console.log('| --- | --- | ---: | ---: | ---: |');
  for (const f of result.fusion) console.log(`| ${f.path} | ${f.shape} | ${f.fusedMs.toFixed(3)} | ${f.unfusedMs.toFixed(3)} | ${(f.saving * 100).toFixed(1)}% |`);
}

main().catch((e: unknown) => {
  console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
