// Bundles with esbuild: the library for browsers and bundlers (dist/index.js) and for Node (dist/node.js), the
// CLI (dist/effnet.js), and the browser bundles served to headless Chromium (dist/browser/). WGSL files are
// inlined as text by the `text` loader.
import { build } from 'esbuild';
import { mkdir, writeFile, readFile, copyFile, readdir, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { existsSync } from 'node:fs';

const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  loader: { '.wgsl': 'text' },
  sourcemap: true,
  logLevel: 'warning',
  // Node-only modules are reached through dynamic imports that never run in a browser.
  external: ['webgpu', 'puppeteer-core', 'node:*', 'esbuild', 'jpeg-js', 'pngjs', 'onnxruntime-node', 'protobufjs'],
};

/**
 * The browser builds hold no Node built-in and no Node-only package: every use of one sits behind `isNode`
 * (src/env.ts) as a dynamic import, which here resolves to a module whose import rejects, naming what was
 * asked for. So an app's bundler (esbuild, Vite, webpack) never sees `node:fs`, Dawn, the PNG/JPEG decoders, or the Node CPU
 * runtime (onnxruntime-node) and the ONNX writer's protobufjs.
 */
const NODE_ONLY = /^(node:.*|webgpu|jpeg-js|pngjs|onnxruntime-node|protobufjs)$/;
const nodeStubs = {
  name: 'node-only-stubs',
  setup(b) {
    b.onResolve({ filter: NODE_ONLY }, (a) => ({ path: a.path, namespace: 'node-only' }));
    b.onLoad({ filter: /.*/, namespace: 'node-only' }, (a) => ({
      contents: `throw new Error(${JSON.stringify(`effnet-webgpu: '${a.path}' is for Node only; this is the browser build`)});`,
      loader: 'js',
    }));
  },
};
const browser = { ...common, platform: 'browser', external: ['puppeteer-core', 'esbuild'], plugins: [nodeStubs], mainFields: ['browser', 'module', 'main'] };

/** Chunk files a split build no longer references (their hash changed), so they never ship. */
async function removeStaleChunks(result) {
  const current = new Set(Object.keys(result.metafile.outputs).map((p) => basename(p)));
  for (const f of await readdir('dist/browser')) {
    if (/^chunk-.*\.js(\.map)?$/.test(f) && !current.has(f)) await rm(`dist/browser/${f}`, { force: true });
  }
}

const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
await mkdir('dist/browser', { recursive: true });

const browserEntries = { effnet: 'src/index.ts', host: 'tools/browser/host.ts' };
if (existsSync('test/browser/entry.ts')) browserEntries.tests = 'test/browser/entry.ts';
if (existsSync('bench/browser/entry.ts')) browserEntries.bench = 'bench/browser/entry.ts';

await Promise.all([
  build({ ...browser, entryPoints: ['src/index.ts'], outfile: 'dist/index.js' }),
  // Node: its packages (Dawn, the image decoders, wgsl_reflect) stay imports, resolved from node_modules.
  build({ ...common, platform: 'node', entryPoints: { node: 'src/index.ts' }, outdir: 'dist', packages: 'external' }),
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
  // One shared chunk for the engine instead of a copy per page script; minified, as only headless Chromium reads
  // these (the source maps stay for debugging). Chunks of earlier builds are removed below.
  build({ ...browser, entryPoints: browserEntries, outdir: 'dist/browser', splitting: true, chunkNames: 'chunk-[hash]', minify: true, metafile: true }).then(removeStaleChunks),
  // The profile report's page script: a classic script, minified and without a source map, because
  // `effnet profile --out x.html` inlines it (Chart.js included) into every standalone report.
  build({ ...common, platform: 'browser', entryPoints: { report: 'tools/report/page.ts', 'kernel-bench-report': 'tools/report/kernel-bench-page.ts', 'report-kinds': 'tools/report/kinds-page.ts' }, outdir: 'dist/browser', format: 'iife', minify: true, sourcemap: false }),
  // `effnet bench`'s peers page (ONNX Runtime Web, TensorFlow.js). The condition makes ORT load its wasm
  // glue from the served dist folder: bundled in, its pthread workers would start this whole bundle.
  build({ ...common, platform: 'browser', entryPoints: { peers: 'tools/browser/peers.ts' }, outdir: 'dist/browser', conditions: ['onnxruntime-web-use-extern-wasm'] }),
  // Its chart, inlined (Chart.js included) into every `effnet bench --out x.html`, like the profile report's.
  build({ ...common, platform: 'browser', entryPoints: { 'peers-chart': 'tools/browser/peers-chart.ts' }, outdir: 'dist/browser', format: 'iife', minify: true, sourcemap: false }),
  // `effnet demo` serves dist/demo/ and nothing else of dist/.
  // LiteRT.js (the CPU fallback) stays an import the page's import map resolves to the user's own install, which
  // `effnet demo` serves when it finds one: its JS always matches its wasm, and the demo bundles none of it.
  build({ ...browser, external: [...browser.external, '@litertjs/core'], entryPoints: { demo: 'tools/browser/demo.ts' }, outdir: 'dist/demo', minify: true }),
]);
await copyFile('tools/browser/demo.html', 'dist/demo/index.html');
await writeFile(
  'dist/browser/index.html',
  '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>effnet-webgpu harness</title><body></body>\n',
);
