/**
 * The WGSL files, as text. esbuild's `text` loader (tools/build.mjs) and a vitest transform
 * (vitest.config.ts) both turn these imports into strings, so Node, tests and the browser bundle
 * all run exactly the files in kernels/.
 */
import actLib from '../../kernels/lib/act.wgsl';
import gridLib from '../../kernels/lib/grid.wgsl';
import silu from '../../kernels/silu.wgsl';
import add from '../../kernels/add.wgsl';

export const LIB_SOURCES: Readonly<Record<string, string>> = {
  'lib/act.wgsl': actLib,
  'lib/grid.wgsl': gridLib,
};

export const KERNEL_SOURCES: Readonly<Record<string, string>> = {
  'silu.wgsl': silu,
  'add.wgsl': add,
};
