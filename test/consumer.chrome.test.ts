/**
 * The package as an application gets it (issue 14): `npm pack`, install the tarball into a fresh app, then
 *   1. a Node ESM script reproduces the fixture logits;
 *   2. `tsc --noEmit` (TypeScript 5, 6 and 7, skipLibCheck off) passes on a browser app under strict `bundler`,
 *      `node16` and `nodenext` resolution, and on a Node app without the DOM lib (and with it);
 *   3. zero-config esbuild, Vite and webpack builds of a browser app succeed with no warning about Node modules,
 *      and the esbuild and Vite builds run the real pretrained B0 in headless Chromium: the expected top-1 on a
 *      sample photo handed over as an ImageBitmap, and the same class from a GPU-buffer output the page reads;
 *   4. the installed CLI runs (`npx effnet export-weights` writes the file the pages load);
 *   5. without WebGPU (Chromium with no adapter, and a page where navigator.gpu is undefined) the default backend
 *      falls back to LiteRT.js, which the app installs, serves the wasm of and hands over: the README's fallback
 *      snippet classifies the sample photos from <img>s, and from fetched bytes and ImageBitmaps too.
 * The tarball's packed and unpacked sizes and the browser bundles' sizes are printed for the record.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openChrome, type ChromeSession } from '../tools/harness/index.js';
import { CPU_BACKEND_TOLERANCE } from '../src/tolerance.js';
import { ensurePretrainedB0 } from '../src/weights/fetch.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtures = join(root, '..', 'shared', 'fixtures');
const images = join(root, '..', 'shared', 'images');
const here = join(root, 'test', 'consumer');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    execFile(cmd, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 1 << 26 }, (err, stdout, stderr) =>
      ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The fenced block after `<!-- snippet: NAME -->` in a README, as written there. */
function readmeSnippet(readme: string, name: string): string {
  const at = readme.indexOf(`<!-- snippet: ${name} -->`);
  expect(at, `README has no snippet '${name}'`).toBeGreaterThanOrEqual(0);
  const m = /```[a-z]*\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(m, `README snippet '${name}' has no code fence`).not.toBeNull();
  return m![1]!;
}

interface PackInfo {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
}

const app = mkdtempSync(join(tmpdir(), 'effnet-consumer-'));
/**
 * The apps the declarations are type-checked with (test/consumer/tsconfig.NAME.json): app.ts, a browser app (the DOM
 * lib), under three resolutions; app-node.ts, a Node app (`"types": ["node"]`), without the DOM lib under two and
 * with it under one; app-bare.ts, with neither (`"types": []`).
 */
const TSCONFIGS = ['bundler', 'node16', 'nodenext', 'node-nodenext', 'node-bundler', 'node-dom', 'bare'] as const;
let pack: PackInfo;

beforeAll(async () => {
  // prepack builds, so the tarball holds what the sources make now.
  const packed = await run('npm', ['pack', '--json', '--pack-destination', app], root);
  expect(packed.code, packed.stderr).toBe(0);
  pack = (JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as PackInfo[])[0]!;
  const version = (pkg: string) => (JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // The registry's copies of the dependencies (npm's cache has them after `npm ci`); Dawn is the optional peer a Node
  // app adds, @types/node what a Node TypeScript app type-checks with, and LiteRT.js the optional peer a browser app
  // adds for the CPU fallback.
  const installed = await run(
    'npm',
    ['install', join(app, pack.filename), `webgpu@${version('webgpu')}`, `@types/node@${version('@types/node')}`, `@litertjs/core@${version('@litertjs/core')}`, '--no-audit', '--no-fund', '--prefer-offline'],
    app,
  );
  expect(installed.code, installed.stderr).toBe(0);
  for (const f of ['node.mjs', 'app.ts', 'app-node.ts', 'app-bare.ts', ...TSCONFIGS.map((m) => `tsconfig.${m}.json`), 'browser.js', 'browser-cpu.js']) copyFileSync(join(here, f), join(app, f));
}, 600_000);

describe('the packed package', () => {
  test('ships what runs and nothing else', () => {
    const paths = pack.files.map((f) => f.path);
    console.log(`tarball ${pack.filename}: ${(pack.size / 2 ** 20).toFixed(2)} MiB packed, ${(pack.unpackedSize / 2 ** 20).toFixed(2)} MiB unpacked, ${paths.length} files`);
    for (const p of ['dist/index.js', 'dist/node.js', 'dist/effnet.js', 'dist/types/index.d.ts', 'dist/browser/host.js', 'package.json', 'README.md']) expect(paths).toContain(p);
    expect(paths.filter((p) => /\.map$|^test\/|^bench\/|^src\/|dist\/browser\/(tests|bench|peers|peers-chart)\.js$|dist\/(soak|bench-kernels)\.js$/.test(p))).toEqual([]);
    // Every relative link of the packed README opens a file the package ships.
    const readme = readFileSync(join(app, 'node_modules', 'effnet-webgpu', 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l));
    expect(links.filter((l) => !paths.some((p) => p === l || p.startsWith(`${l.replace(/\/$/, '')}/`)))).toEqual([]);
    // The aim is 1 MB: the builds, the CLI and its pages (three with Chart.js inlined for standalone reports).
    // Each of the five builds embeds every kernel's WGSL with its machine-read header, and since the CPU backend its
    // ONNX and TFLite writers (1.12 → 1.20 MiB); 1.25 MiB until they share one copy.
    expect(pack.size).toBeLessThan(1.25 * 2 ** 20);
  });

  test('Node ESM: the fixture logits from the installed package', async () => {
    const r = await run(process.execPath, ['node.mjs', join(fixtures, 'efficientnet_b0.weights.safetensors'), join(fixtures, 'efficientnet_b0.io.safetensors')], app);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { arch: string; pass: boolean; relL2: number };
    expect(out).toMatchObject({ arch: 'efficientnet_b0', pass: true });
    expect(out.relL2).toBeLessThan(1e-5);
  });

  test("V2-S as a new user types it: pretrained('efficientnet_v2_s'), loadModel, classify at torchvision's 384² bilinear", async () => {
    // download.pytorch.org is out of reach here, so the cache is seeded the way a finished download leaves it: the
    // file under torchvision's name in <EFFNET_CACHE>/checkpoints/ (here the V2-S fixture, seeded weights).
    const cache = mkdtempSync(join(tmpdir(), 'effnet-consumer-cache-'));
    mkdirSync(join(cache, 'checkpoints'));
    symlinkSync(join(fixtures, 'efficientnet_v2_s.weights.safetensors'), join(cache, 'checkpoints', 'efficientnet_v2_s-dd5fe13b.pth'));
    writeFileSync(
      join(app, 'v2s.mjs'),
      `import { readFile } from 'node:fs/promises';
import { loadModel, classify, pretrained, parseSafetensors, verifyModel } from 'effnet-webgpu';
const { arch, weights, preset, source } = await pretrained('efficientnet_v2_s');
const model = await loadModel({ backend: 'webgpu', arch, weights });
const { predictions } = await classify(model, [process.argv[2]]);
const report = await verifyModel(model, parseSafetensors(new Uint8Array(await readFile(process.argv[3]))));
console.log(JSON.stringify({ arch: model.spec.name, source, preset: preset.name, size: preset.size, top: predictions[0].length, relL2: report.logits.relL2 }));
model.dispose();
`,
    );
    const r = await run(process.execPath, ['v2s.mjs', join(images, 'n01440764_tench.JPEG'), join(fixtures, 'efficientnet_v2_s.io.safetensors')], app, { EFFNET_CACHE: cache });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { arch: string; source: string; preset: string; size: number; top: number; relL2: number };
    expect(out).toMatchObject({ arch: 'efficientnet_v2_s', preset: 'torchvision-bilinear-384-384', size: 384, top: 5 });
    expect(out.source).toMatch(/efficientnet_v2_s-dd5fe13b\.pth/);
    expect(out.relL2).toBeLessThan(1e-5);
  });

  test("the packed README's Node snippet, verbatim: the pretrained B0 classifies a photo path", async () => {
    const readme = readFileSync(join(app, 'node_modules', 'effnet-webgpu', 'README.md'), 'utf8');
    writeFileSync(join(app, 'readme-node.mjs'), readmeSnippet(readme, 'node'));
    const r = await run(process.execPath, ['readme-node.mjs', join(images, 'n01440764_tench.JPEG')], app);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^tench, Tinca tinca 0\.\d{3}\n$/);
  });

  test('classify in Node takes encoded bytes, paths and decoded pixels alike; a bad one is a typed error', async () => {
    writeFileSync(
      join(app, 'inputs.mjs'),
      `import { readFile } from 'node:fs/promises';
import { loadModel, classify, pretrained, readImageFile } from 'effnet-webgpu';
const path = process.argv[2];
const { arch, weights } = await pretrained('efficientnet_b0');
const model = await loadModel({ backend: 'webgpu', arch, weights });
const bytes = new Uint8Array(await readFile(path));
const { predictions } = await classify(model, [path, bytes, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), await readImageFile(path)]);
let bad;
await classify(model, [new Uint8Array([1, 2, 3])]).catch((e) => (bad = e.code + ': ' + e.message));
console.log(JSON.stringify({ top: predictions.map((p) => p[0].index), bad }));
model.dispose();
`,
    );
    const r = await run(process.execPath, ['inputs.mjs', join(images, 'n03063599_coffee_mug.JPEG')], app);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { top: number[]; bad: string };
    expect(out.top).toEqual([504, 504, 504, 504]);
    expect(out.bad).toMatch(/^INPUT: image 0: /);
  });

  // The declarations name no global: each browser or WebGPU type is the app's own where it declares one, else opaque.
  // The browser app names WebGPU's types itself, which TypeScript 6 and 7 declare in their DOM lib and a
  // TypeScript 5 app takes from @webgpu/types (installed here with Dawn), as the README says.
  // Each check is one tsc process waiting on nothing else: two at a time keep both CI cores busy.
  const typescripts = { 5: 'typescript', 6: 'typescript-6', 7: 'typescript-7' };
  test.concurrent.for(Object.entries(typescripts).flatMap(([major, pkg]) => TSCONFIGS.map((mode) => ({ major, pkg, mode }))))(
    'TypeScript $major: tsc --noEmit, strict, skipLibCheck off, tsconfig $mode',
    async ({ major, pkg, mode }, { expect }) => {
      const tsc = join(root, 'node_modules', pkg, 'bin', 'tsc');
      const version = await run(process.execPath, [tsc, '-v'], app);
      expect(version.stdout).toMatch(new RegExp(`^Version ${major}\\.`));
      const webgpuTypes = major === '5' && !mode.startsWith('node-') && mode !== 'bare' ? ['--types', '@webgpu/types'] : [];
      const r = await run(process.execPath, [tsc, '-p', `tsconfig.${mode}.json`, ...webgpuTypes], app);
      expect(r.stdout + r.stderr).toBe('');
      expect(r.code).toBe(0);
    },
  );

  test('the installed CLI: kernel-bench runs an example kernel; browser-only commands say what to install', async () => {
    const effnet = join(app, 'node_modules', '.bin', 'effnet');
    const kb = await run(effnet, ['kernel-bench', '--op', 'dwconv', '--kernel', join(app, 'node_modules', 'effnet-webgpu', 'examples', 'kernels', 'naive_dwconv.wgsl'), '--res', '32', '--runs', '1', '--json'], app);
    expect(kb.code, kb.stderr).toBe(0);
    expect((JSON.parse(kb.stdout) as { shapes: unknown[] }).shapes.length).toBeGreaterThan(0);
    // puppeteer-core is an optional peer the app has not installed.
    const chrome = await run(effnet, ['classify', '--host', 'chrome'], app);
    expect(chrome.code).toBe(1);
    expect(chrome.stderr).toMatch(/needs puppeteer-core: `npm install puppeteer-core`/);
    const bench = await run(effnet, ['bench', '--fixtures', fixtures], app);
    expect(bench.code).toBe(1);
    expect(bench.stderr).toMatch(/run it from a checkout/);
  });

  test('require() of the package works (Node ≥ 20.19 loads the ES module) or says why', async () => {
    writeFileSync(join(app, 'req.cjs'), "const e = require('effnet-webgpu'); console.log(typeof e.loadModel, e.IMAGENET_CLASSES.length);");
    const r = await run(process.execPath, ['req.cjs'], app);
    expect(r.stdout.trim(), r.stderr).toBe('function 1000');
  });
});

describe('browser apps built with zero-config bundlers, run in headless Chromium', () => {
  let chrome: ChromeSession;
  // Served at /static/: the weights, the photos and the esbuild page. The Vite build is served at /, LiteRT.js's
  // wasm folder (as the app's copy of node_modules/@litertjs/core/wasm/) at /litert-wasm/.
  const web = join(app, 'web');
  const viteOut = join(app, 'vite-dist');
  const roots = () => ({ '': viteOut, static: web, 'litert-wasm': join(app, 'node_modules', '@litertjs', 'core', 'wasm') });

  beforeAll(async () => {
    mkdirSync(web, { recursive: true });
    writeFileSync(join(web, 'esbuild.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./esbuild-app.js"></script>\n');
    // The installed CLI writes the one weights file the pages load (the real pretrained B0, from the cache), as
    // the README says, into a folder that does not exist yet.
    const exported = await run(join(app, 'node_modules', '.bin', 'effnet'), ['export-weights', '--out', 'public/efficientnet_b0.safetensors'], app);
    expect(exported.code, exported.stderr).toBe(0);
    copyFileSync(join(app, 'public', 'efficientnet_b0.safetensors'), join(web, 'b0.safetensors'));
    for (const img of ['n01440764_tench.JPEG', 'n03063599_coffee_mug.JPEG']) copyFileSync(join(images, img), join(web, img));
    // The pretrained package's two sample photos (car.jpg, panda.jpg), from the cache export-weights filled.
    for (const img of (await ensurePretrainedB0()).samples) copyFileSync(img, join(web, basename(img)));
  }, 600_000);
  afterAll(async () => {
    await chrome?.close();
  });

  test('esbuild --bundle, no options: no warnings', async () => {
    const { build } = await import('esbuild');
    const out = join(web, 'esbuild-app.js');
    const r = await build({ entryPoints: [join(app, 'browser.js')], bundle: true, format: 'esm', outfile: out, absWorkingDir: app, logLevel: 'silent' });
    expect(r.errors).toEqual([]);
    expect(r.warnings.map((w) => w.text)).toEqual([]);
    const min = await build({ entryPoints: [join(app, 'browser.js')], bundle: true, format: 'esm', minify: true, write: false, absWorkingDir: app, logLevel: 'silent' });
    console.log(`esbuild bundle of the browser app: ${(statSync(out).size / 1024).toFixed(0)} KiB, ${(min.outputFiles[0]!.contents.byteLength / 1024).toFixed(0)} KiB minified`);
  });

  test('vite build, no config: no warnings about Node modules', async () => {
    const vite = join(app, 'vite');
    mkdirSync(vite, { recursive: true });
    copyFileSync(join(here, 'index.html'), join(vite, 'index.html'));
    copyFileSync(join(app, 'browser.js'), join(vite, 'browser.js'));
    const r = await run(bin('vite'), ['build', '--outDir', viteOut, '--emptyOutDir'], vite, { NODE_ENV: 'production' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/externalized for browser compatibility|node:|Module not found|could not be resolved/i);
  });

  test('webpack, production defaults: builds with no warnings about Node modules', async () => {
    const { default: webpack } = await import('webpack');
    const stats = await new Promise<import('webpack').Stats>((ok, fail) =>
      webpack({ mode: 'production', context: app, entry: './browser.js', output: { path: join(app, 'webpack') } }, (err, s) => (err ? fail(err) : ok(s!))),
    );
    const info = stats.toJson({ all: false, errors: true, warnings: true });
    expect(info.errors ?? []).toEqual([]);
    const nodeWarnings = (info.warnings ?? []).map((w) => w.message).filter((m) => /node:|Can't resolve|Module not found|fallback/i.test(m));
    expect(nodeWarnings).toEqual([]);
  });

  test.each(['esbuild', 'vite'])('%s build: ImageBitmap input and GPU-buffer output give the expected top-1', async (bundle) => {
    chrome ??= await openChrome(roots(), { page: 'static/esbuild.html' });
    const page = chrome.page;
    await page.goto(`${chrome.url}${bundle === 'vite' ? 'index.html' : 'static/esbuild.html'}`);
    await page.waitForFunction('globalThis.consumerRun !== undefined', { timeout: 120_000 });
    const result = await page.evaluate(
      (w, imgs) => (globalThis as unknown as { consumerRun(w: string, i: string[]): Promise<unknown> }).consumerRun(w, imgs),
      '/static/b0.safetensors',
      ['/static/n01440764_tench.JPEG', '/static/n03063599_coffee_mug.JPEG'],
    );
    expect(chrome.errors).toEqual([]);
    expect(result).toMatchObject({
      bitmap: [{ index: 0, label: 'tench, Tinca tinca' }, { index: 504, label: 'coffee mug' }],
      gpuBuffer: [0, 504],
    });
  });

  test("the packed README's browser snippet, verbatim, bundled by esbuild: progress to the true total, then the photo's class", async () => {
    const readme = readFileSync(join(app, 'node_modules', 'effnet-webgpu', 'README.md'), 'utf8');
    writeFileSync(join(app, 'readme-browser.js'), readmeSnippet(readme, 'browser'));
    const { build } = await import('esbuild');
    const r = await build({ entryPoints: [join(app, 'readme-browser.js')], bundle: true, format: 'esm', outfile: join(viteOut, 'readme-app.js'), absWorkingDir: app, logLevel: 'silent' });
    expect(r.warnings.map((w) => w.text)).toEqual([]);
    copyFileSync(join(app, 'public', 'efficientnet_b0.safetensors'), join(viteOut, 'efficientnet_b0.safetensors'));
    writeFileSync(
      join(viteOut, 'readme.html'),
      '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><progress></progress><img src="/static/n01440764_tench.JPEG"><script type="module" src="./readme-app.js"></script>\n',
    );
    chrome ??= await openChrome(roots(), { page: 'readme.html' });
    await chrome.page.goto(`${chrome.url}readme.html`);
    await chrome.page.waitForFunction(() => document.body.textContent!.includes('%)'), { timeout: 300_000 });
    const shown = await chrome.page.evaluate(() => ({ text: document.body.textContent, value: document.querySelector('progress')!.value, max: document.querySelector('progress')!.max }));
    expect(chrome.errors).toEqual([]);
    expect(shown.text!.trim()).toMatch(/^tench, Tinca tinca \(\d+\.\d%\)$/);
    expect(shown.max).toBe(statSync(join(viteOut, 'efficientnet_b0.safetensors')).size);
    expect(shown.value).toBe(shown.max);
  });

  test('a browser without WebGPU: isSupported() says so, and loadModel fails NO_WEBGPU before requesting any weights byte', async () => {
    const { build } = await import('esbuild');
    writeFileSync(
      join(app, 'nogpu.js'),
      `import { isSupported, loadModel } from 'effnet-webgpu';
globalThis.noGpuRun = async (url) => {
  const support = await isSupported();
  const error = await loadModel({ backend: 'webgpu', weights: url }).then(() => undefined, (e) => ({ code: e.code, message: e.message }));
  return { support, error };
};
`,
    );
    await build({ entryPoints: [join(app, 'nogpu.js')], bundle: true, format: 'esm', outfile: join(viteOut, 'nogpu-app.js'), absWorkingDir: app, logLevel: 'silent' });
    writeFileSync(join(viteOut, 'nogpu.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./nogpu-app.js"></script>\n');
    chrome ??= await openChrome(roots(), { page: 'nogpu.html' });
    const page = await chrome.browser.newPage();
    try {
      // A browser without WebGPU: navigator.gpu is undefined before any script runs.
      await page.evaluateOnNewDocument(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
      const requested: string[] = [];
      page.on('request', (req) => requested.push(req.url()));
      await page.goto(`${chrome.url}nogpu.html`);
      await page.waitForFunction('globalThis.noGpuRun !== undefined');
      const out = (await page.evaluate((url) => (globalThis as unknown as { noGpuRun(u: string): Promise<unknown> }).noGpuRun(url), '/efficientnet_b0.safetensors')) as {
        support: { supported: boolean; code: string };
        error: { code: string; message: string };
      };
      expect(out.support).toMatchObject({ supported: false, code: 'NO_WEBGPU' });
      expect(out.error).toMatchObject({ code: 'NO_WEBGPU' });
      expect(out.error.message).toMatch(/navigator\.gpu is undefined/);
      expect(requested.filter((u) => u.includes('safetensors'))).toEqual([]);
    } finally {
      await page.close();
    }
  });

  /**
   * The README's fallback snippet, verbatim, and the CPU harness (browser-cpu.js) bundled by esbuild into one page
   * with the two sample photos as <img>s: one copy of the package and of LiteRT.js, whose wasm folder is served at
   * /litert-wasm/. Built once for both pages.
   */
  let fallbackBuilt: Promise<void> | undefined;
  const buildFallback = () =>
    (fallbackBuilt ??= (async () => {
      const readme = readFileSync(join(app, 'node_modules', 'effnet-webgpu', 'README.md'), 'utf8');
      writeFileSync(join(app, 'readme-fallback.js'), readmeSnippet(readme, 'browser-fallback'));
      writeFileSync(join(app, 'fallback.js'), "import './browser-cpu.js';\nimport './readme-fallback.js';\n");
      const { build } = await import('esbuild');
      const r = await build({ entryPoints: [join(app, 'fallback.js')], bundle: true, format: 'esm', outfile: join(viteOut, 'fallback-app.js'), absWorkingDir: app, logLevel: 'silent' });
      expect(r.warnings.map((w) => w.text)).toEqual([]);
      const minified = async (external: string[]) =>
        (await build({ entryPoints: [join(app, 'readme-fallback.js')], bundle: true, format: 'esm', minify: true, write: false, external, absWorkingDir: app, logLevel: 'silent' })).outputFiles[0]!.contents.byteLength;
      const [all, withoutLiteRt] = [await minified([]), await minified(['@litertjs/core'])];
      const wasm = statSync(join(roots()['litert-wasm'], 'litert_wasm_threaded_internal.wasm')).size;
      console.log(
        `esbuild bundle of the README's fallback app: ${(all / 1024).toFixed(0)} KiB minified, LiteRT.js ${((all - withoutLiteRt) / 1024).toFixed(0)} KiB of it; ` +
          `LiteRT.js's threaded wasm, fetched when the fallback loads: ${(wasm / 2 ** 20).toFixed(1)} MiB`,
      );
      copyFileSync(join(app, 'public', 'efficientnet_b0.safetensors'), join(viteOut, 'efficientnet_b0.safetensors'));
      for (const f of ['efficientnet_b0.weights.safetensors', 'efficientnet_b0.io.safetensors']) if (!existsSync(join(web, f))) symlinkSync(join(fixtures, f), join(web, f));
      writeFileSync(
        join(viteOut, 'fallback.html'),
        '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><img src="/static/car.jpg"><img src="/static/panda.jpg"><script type="module" src="./fallback-app.js"></script>\n',
      );
      writeFileSync(join(viteOut, 'blank.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">\n');
    })());

  /** LiteRT.js's wasm writes its log (`INFO: [environment.cc:36] …`, `INFO: Created TensorFlow Lite XNNPACK delegate …`) to stderr, which Emscripten prints as console errors. */
  const notLiteRtLog = (e: string) => !/^(INFO|WARNING): /.test(e);

  /**
   * On a page that loads fallback.html with no WebGPU: the README snippet's text, then cpuRun on the same photos
   * (fetched bytes and ImageBitmaps) and, with `fixture`, the torchvision fixture's logits.
   */
  async function fallbackRun(page: Page, url: string, errors: string[], code: 'NO_ADAPTER' | 'NO_WEBGPU', fixture: boolean): Promise<void> {
    const t0 = Date.now();
    await page.goto(`${url}fallback.html`);
    // The snippet's line, or the first error it threw.
    let text = '';
    while (!(text = (await page.evaluate(() => document.body.textContent ?? '')).trim()) && errors.filter(notLiteRtLog).length === 0) {
      expect(Date.now() - t0, 'the README fallback snippet wrote nothing in 5 minutes').toBeLessThan(300_000);
      await new Promise((ok) => setTimeout(ok, 100));
    }
    const snippetMs = Date.now() - t0;
    expect(errors.filter(notLiteRtLog)).toEqual([]);
    const reason = `no WebGPU here (${code}: `;
    expect(text.startsWith(`sports car, sport car; giant panda, panda, panda bear, coon bear, Ailuropoda melanoleuca (cpu: ${reason}`), text).toBe(true);
    const out = (await page.evaluate(
      (w, imgs, fx) => (globalThis as unknown as { cpuRun(w: string, i: string[], f?: object): Promise<unknown> }).cpuRun(w, imgs, fx),
      '/efficientnet_b0.safetensors',
      ['/static/car.jpg', '/static/panda.jpg'],
      fixture ? { weights: '/static/efficientnet_b0.weights.safetensors', io: '/static/efficientnet_b0.io.safetensors' } : undefined,
    )) as {
      backend: { name: string; runtime: string; detail: string; reason: string };
      bytes: { index: number; prob: number }[];
      bitmaps: { index: number; prob: number }[];
      refused: string[];
      fixture?: { backend: string; relL2: number };
      ms: Record<string, number>;
    };
    expect(errors.filter(notLiteRtLog)).toEqual([]);
    expect(out.backend).toMatchObject({ name: 'cpu', runtime: 'litert-wasm' });
    expect(out.backend.reason.startsWith(reason), out.backend.reason).toBe(true);
    // car.jpg → sports car (817), panda.jpg → giant panda (388), from bytes and from bitmaps alike.
    expect(out.bytes.map((p) => p.index)).toEqual([817, 388]);
    expect(out.bitmaps.map((p) => p.index)).toEqual([817, 388]);
    out.bytes.forEach((p, i) => expect(Math.abs(p.prob - out.bitmaps[i]!.prob)).toBeLessThan(1e-3));
    expect(out.refused[0]).toMatch(/^INPUT: image 0: HTMLImageElement of 0×0 pixels has nothing to classify/);
    expect(out.refused[1]).toMatch(/^INPUT: image 0: ImageBitmap of \d+×\d+ pixels \(.*\) is over the cap of 0\.0 MP \(maxPixels\)/);
    if (fixture) {
      expect(out.fixture!.backend).toBe('litert-wasm');
      expect(out.fixture!.relL2).toBeLessThanOrEqual(CPU_BACKEND_TOLERANCE.relL2);
    }
    console.log(
      `CPU fallback (${code}, ${out.backend.detail}): README snippet (load, 2 <img>s) ${snippetMs} ms; cpuRun ${JSON.stringify(out.ms)} ms` +
        (out.fixture ? `; torchvision fixture relL2 ${out.fixture.relL2.toExponential(2)}` : ''),
    );
  }

  test('Chromium with no WebGPU adapter (--disable-software-rasterizer): the default backend falls back to LiteRT.js; the README snippet and bytes/ImageBitmap inputs classify the sample photos', async () => {
    await buildFallback();
    // openChrome always passes --enable-unsafe-webgpu; without a GPU SwiftShader is then WebGPU's only adapter, and
    // --disable-software-rasterizer takes it away: navigator.gpu is there, requestAdapter() resolves to null.
    const noAdapter = await openChrome(roots(), { page: 'blank.html', extraFlags: ['--disable-software-rasterizer'] });
    try {
      expect(await noAdapter.page.evaluate(async () => (await navigator.gpu.requestAdapter()) === null)).toBe(true);
      await fallbackRun(noAdapter.page, noAdapter.url, noAdapter.errors, 'NO_ADAPTER', true);
    } finally {
      await noAdapter.close();
    }
  });

  test('a page where navigator.gpu is undefined: the same, on LiteRT.js (NO_WEBGPU)', async () => {
    await buildFallback();
    chrome ??= await openChrome(roots(), { page: 'blank.html' });
    const page = await chrome.browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    page.on('pageerror', (e) => void errors.push(String(e)));
    try {
      await page.evaluateOnNewDocument(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
      await fallbackRun(page, chrome.url, errors, 'NO_WEBGPU', false);
    } finally {
      await page.close();
    }
  });
});
