/**
 * Edge launches: what a model's own shapes may never exercise, made per pipeline the model runs for the op (same
 * kernel and overrides, so our side runs the very pipeline it runs in the network). Every op gets its self-test
 * probe (KernelOp.probe: two images, a ragged last tile or strip, a row block cut short where the launch has
 * rows to cut); dwconv also gets launches from its own planner with TensorFlow SAME padding — asymmetric at
 * stride 2, where torchvision's symmetric K/2 hides a hard-coded pad — and a width that leaves the last strip
 * short, since at common resolutions every width may be a multiple of the strip.
 */
import { dwconvLaunch } from '../kernels/dwconv.js';
import { opOfKernel } from '../kernels/ops.js';
import type { UniformValues } from '../kernels/reflect.js';
import type { OpView } from '../runtime/instrument.js';

export interface EdgeLaunch {
  /** The model op whose pipeline (kernel and overrides) runs this launch. */
  like: OpView;
  uniforms: UniformValues;
  /** What the launch exercises, for the report. */
  why: string;
}

/** Images in every generated dwconv launch: a slot or row indexed without its image shows on the second. */
const IMAGES = 2;
/** Channels of a generated dwconv launch: three vec4s, so a channel index off by one lands in real data. */
const CHANNELS = 12;

/** One model op per distinct pipeline: its largest, whose probe keeps the most of what a launch can take (ragged tiles). */
function pipelines(ops: readonly OpView[]): OpView[] {
  const seen = new Map<string, OpView>();
  for (const op of ops) {
    const key = `${op.kernel} ${JSON.stringify(op.overrides)}`;
    const had = seen.get(key);
    if (!had || op.flops > had.flops) seen.set(key, op);
  }
  return [...seen.values()];
}

/**
 * dwconv's planner at TF SAME padding for a pipeline's K, S and TW: output widths that leave the last strip
 * short (2·TW+1, TW+1, then narrower than one strip), the first the planner tiles with the pipeline's TW. At
 * stride 2 the input is even, so SAME pads one pixel more after than before.
 */
function dwconvEdges(like: OpView): EdgeLaunch[] {
  const o = like.overrides;
  const [k, s, tw] = [o.K!, o.S!, o.TW!];
  const squeeze = o.SQUEEZE === 1;
  for (const wo of [2 * tw + 1, tw + 1, tw - 1, 3]) {
    if (wo < 1 || wo % tw === 0) continue;
    for (const isFallback of [true, false]) {
      const l = dwconvLaunch({ N: IMAGES, C: CHANNELS, H: 5 * s, W: wo * s, k, s, padding: 'same', squeeze }, { isFallback, tier: 'tuned' });
      if (l.overrides.TW !== tw) continue;
      const u = l.uniforms as Record<string, number>;
      const pads = s === 2 ? `SAME padding (${u.padTop} before, 1 more after) at stride 2` : 'SAME padding';
      return [{ like, uniforms: l.uniforms, why: `${pads}, ${u.Wo} output columns (last of ${u.strips} strips short), ${IMAGES} images` }];
    }
  }
  return [];
}

/** The edge launches for `ops` (the model's launches of one op kind). */
export function edgeLaunches(ops: readonly OpView[]): EdgeLaunch[] {
  const out: EdgeLaunch[] = [];
  for (const like of pipelines(ops)) {
    const op = opOfKernel(like.kernel)!;
    const probe = op.probe({ kernel: like.kernel, overrides: like.overrides, uniforms: like.uniforms, workgroups: 0 });
    out.push({ like, uniforms: probe, why: 'self-test probe: 2 images, ragged last tile or strip, a block cut short where the launch is that large' });
    if (op.name === 'dwconv') out.push(...dwconvEdges(like));
  }
  return out;
}
