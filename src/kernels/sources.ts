/**
 * The WGSL files, as text. esbuild's `text` loader (tools/build.mjs) and a vitest transform
 * (vitest.config.ts) both turn these imports into strings, so Node, tests and the browser bundle
 * all run exactly the files in kernels/.
 */
import actLib from '../../kernels/lib/act.wgsl';
import gridLib from '../../kernels/lib/grid.wgsl';
import convTileLib from '../../kernels/lib/conv_tile.wgsl';
import dwconv from '../../kernels/dwconv.wgsl';
import dwconvCompact from '../../kernels/dwconv_compact.wgsl';
import seExcite from '../../kernels/se_excite.wgsl';
import pool from '../../kernels/pool.wgsl';
import softmax from '../../kernels/softmax.wgsl';
import silu from '../../kernels/silu.wgsl';
import add from '../../kernels/add.wgsl';
import channelScale from '../../kernels/channel_scale.wgsl';
import fusedConv from '../../kernels/fused_conv.wgsl';
import stem from '../../kernels/stem.wgsl';
import preprocess from '../../kernels/preprocess.wgsl';
import pointwise from '../../kernels/pointwise.wgsl';

export const LIB_SOURCES: Readonly<Record<string, string>> = {
  'lib/act.wgsl': actLib,
  'lib/grid.wgsl': gridLib,
  'lib/conv_tile.wgsl': convTileLib,
};

export const KERNEL_SOURCES: Readonly<Record<string, string>> = {
  'dwconv.wgsl': dwconv, 'dwconv_compact.wgsl': dwconvCompact, 'se_excite.wgsl': seExcite, 'pool.wgsl': pool, 'softmax.wgsl': softmax,
  'silu.wgsl': silu,
  'add.wgsl': add,
  'channel_scale.wgsl': channelScale,
  'fused_conv.wgsl': fusedConv,
  'stem.wgsl': stem,
  'preprocess.wgsl': preprocess,
  'pointwise.wgsl': pointwise,
};
