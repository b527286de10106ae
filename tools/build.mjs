// Bundles with esbuild: the library (dist/index.js), the CLI (dist/effnet.js), and the browser bundles
// served to headless Chromium (dist/browser/). WGSL files are inlined as text by the `text` loader.
import { build } from 'esbuild';
import { mkdir, writeFile, readFile, copyFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';

const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  loader: { '.wgsl': 'text' },
  sourcemap: true,
  logLevel: 'warning',
  // Node-only modules are reached through dynamic imports that never run in a browser.
  external: ['webgpu', 'puppeteer-core', 'node:*', 'esbuild', 'jpeg-js', 'pngjs'],
};

const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
await mkdir('dist/browser', { recursive: true });

const browserEntries = { effnet: 'src/index.ts', host: 'tools/browser/host.ts', 'kernel-bench': 'tools/browser/kernel-bench.ts' };
if (existsSync('test/browser/entry.ts')) browserEntries.tests = 'test/browser/entry.ts';
if (existsSync('bench/browser/entry.ts')) browserEntries.bench = 'bench/browser/entry.ts';

await Promise.all([
  build({ ...common, platform: 'neutral', entryPoints: ['src/index.ts'], outfile: 'dist/index.js', mainFields: ['module', 'main'] }),
  build({
    ...common,
    platform: 'node',
    entryPoints: ['tools/cli.ts'],
    outfile: 'dist/effnet.js',
    banner: { js: '#!/usr/bin/env node' },
    define: { __EFFNET_VERSION__: JSON.stringify(pkg.version) },
    packages: 'external',
  }),
  build({ ...common, platform: 'node', entryPoints: ['bench/kernels-cli.ts'], outfile: 'dist/bench-kernels.js', packages: 'external' }),
  build({ ...common, platform: 'node', entryPoints: ['bench/soak.ts'], outfile: 'dist/soak.js', packages: 'external' }),
  build({ ...common, platform: 'browser', entryPoints: browserEntries, outdir: 'dist/browser', mainFields: ['module', 'main'] }),
  // The profile report's page script: a classic script, minified and without a source map, because
  // `effnet profile --out x.html` inlines it (Chart.js included) into every standalone report.
  build({ ...common, platform: 'browser', entryPoints: { report: 'tools/report/page.ts', 'kernel-bench-report': 'tools/report/kernel-bench-page.ts' }, outdir: 'dist/browser', format: 'iife', minify: true, sourcemap: false }),
  // `effnet bench`'s peers page (ONNX Runtime Web, TensorFlow.js). The condition makes ORT load its wasm
  // glue from the served dist folder: bundled in, its pthread workers would start this whole bundle.
  build({ ...common, platform: 'browser', entryPoints: { peers: 'tools/browser/peers.ts' }, outdir: 'dist/browser', conditions: ['onnxruntime-web-use-extern-wasm'] }),
  // Its chart, inlined (Chart.js included) into every `effnet bench --out x.html`, like the profile report's.
  build({ ...common, platform: 'browser', entryPoints: { 'peers-chart': 'tools/browser/peers-chart.ts' }, outdir: 'dist/browser', format: 'iife', minify: true, sourcemap: false }),
  // `effnet demo` serves dist/demo/ and nothing else of dist/.
  build({ ...common, platform: 'browser', entryPoints: { demo: 'tools/browser/demo.ts' }, outdir: 'dist/demo', mainFields: ['module', 'main'] }),
]);
await copyFile('tools/browser/demo.html', 'dist/demo/index.html');
await writeFile(
  'dist/browser/index.html',
  '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>effnet-webgpu harness</title><body></body>\n',
);
