/**
 * Folders of this package on disk. The same code runs from its sources (tools/harness/, under vitest or tsx)
 * and bundled into dist/effnet.js or dist/bench-kernels.js, so no fixed `../` from import.meta.url fits both:
 * the package root is the nearest folder above this module that holds package.json.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function packageRoot(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json in ${start} or any folder above it`);
  }
}

export const PACKAGE_ROOT = packageRoot();
/** The page bundles tools/build.mjs writes, served to headless Chromium. */
export const BROWSER_DIST = join(PACKAGE_ROOT, 'dist', 'browser', '/');
/** The `effnet demo` page (tools/browser/demo.*), built apart so the demo server serves nothing else. */
export const DEMO_DIST = join(PACKAGE_ROOT, 'dist', 'demo', '/');
