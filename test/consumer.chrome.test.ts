/**
 * The package as an application gets it (issue 14): `npm pack`, install the tarball into a fresh app, then
 *   1. a Node ESM script reproduces the fixture logits;
 *   2. `tsc --noEmit` (TypeScript 5, 6 and 7, skipLibCheck off) passes on a browser app under strict `bundler`,
 *      `node16` and `nodenext` resolution, and on a Node app without the DOM lib (and with it);
 *   3. zero-config esbuild, Vite and webpack builds of a browser app succeed with no warning about Node modules,
 *      and the esbuild and Vite builds run the real pretrained B0 in headless Chromium: the expected top-1 on a
 *      sample photo handed over as an ImageBitmap, and the same class from a GPU-buffer output the page reads;
 *   4. the installed CLI runs (`npx effnet export-weights` writes the file the pages load).
 * The tarball's packed and unpacked sizes and the browser bundle's size are printed for the record.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openChrome, type ChromeSession } from '../tools/harness/index.js';

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
 * with it under one.
 */
const TSCONFIGS = ['bundler', 'node16', 'nodenext', 'node-nodenext', 'node-bundler', 'node-dom'] as const;
let pack: PackInfo;

beforeAll(async () => {
  // prepack builds, so the tarball holds what the sources make now.
  const packed = await run('npm', ['pack', '--json', '--pack-destination', app], root);
  expect(packed.code, packed.stderr).toBe(0);
  pack = (JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as PackInfo[])[0]!;
  const version = (pkg: string) => (JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // The registry's copies of the dependencies (npm's cache has them after `npm ci`); Dawn is the optional peer a Node
  // app adds, and @types/node what a Node TypeScript app type-checks with.
  const installed = await run('npm', ['install', join(app, pack.filename), `webgpu@${version('webgpu')}`, `@types/node@${version('@types/node')}`, '--no-audit', '--no-fund', '--prefer-offline'], app);
  expect(installed.code, installed.stderr).toBe(0);
  for (const f of ['node.mjs', 'app.ts', 'app-node.ts', ...TSCONFIGS.map((m) => `tsconfig.${m}.json`), 'browser.js']) copyFileSync(join(here, f), join(app, f));
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
    // Each of the five builds embeds every kernel's WGSL with its machine-read header; 1.15 MiB until they share one copy.
    expect(pack.size).toBeLessThan(1.15 * 2 ** 20);
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
  const typescripts = { 5: 'typescript', 6: 'typescript-6', 7: 'typescript-7' };
  test.each(Object.entries(typescripts).flatMap(([major, pkg]) => TSCONFIGS.map((mode) => ({ major, pkg, mode }))))(
    'TypeScript $major: tsc --noEmit, strict, skipLibCheck off, tsconfig $mode',
    async ({ major, pkg, mode }) => {
      const tsc = join(root, 'node_modules', pkg, 'bin', 'tsc');
      const version = await run(process.execPath, [tsc, '-v'], app);
      expect(version.stdout).toMatch(new RegExp(`^Version ${major}\\.`));
      const webgpuTypes = major === '5' && !mode.startsWith('node-') ? ['--types', '@webgpu/types'] : [];
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
  // Served at /static/: the weights, the photos and the esbuild page. The Vite build is served at /.
  const web = join(app, 'web');
  const viteOut = join(app, 'vite-dist');

  beforeAll(async () => {
    mkdirSync(web, { recursive: true });
    writeFileSync(join(web, 'esbuild.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./esbuild-app.js"></script>\n');
    // The installed CLI writes the one weights file the pages load (the real pretrained B0, from the cache), as
    // the README says, into a folder that does not exist yet.
    const exported = await run(join(app, 'node_modules', '.bin', 'effnet'), ['export-weights', '--out', 'public/efficientnet_b0.safetensors'], app);
    expect(exported.code, exported.stderr).toBe(0);
    copyFileSync(join(app, 'public', 'efficientnet_b0.safetensors'), join(web, 'b0.safetensors'));
    for (const img of ['n01440764_tench.JPEG', 'n03063599_coffee_mug.JPEG']) copyFileSync(join(images, img), join(web, img));
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
    chrome ??= await openChrome({ '': viteOut, static: web }, { page: 'static/esbuild.html' });
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
    chrome ??= await openChrome({ '': viteOut, static: web }, { page: 'readme.html' });
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
    chrome ??= await openChrome({ '': viteOut, static: web }, { page: 'nogpu.html' });
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
});
