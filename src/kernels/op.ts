/**
 * One op = one module, as ONNX Runtime Web's JSEP gives each op one file owning its shapes, run data and shader.
 * Beside its kernels/*.wgsl files, an op's module in src/kernels/ plans its launches and packs its weights, and
 * exports a KernelOp with the rest of what the engine needs of it: its float64 test case, its self-test probe,
 * its plain variant and its tuning search. src/kernels/ops.ts is the list of them; nothing else names an op's
 * kernels. Adding a kernel: its .wgsl file (header lines: Dispatch, Accumulators, Tile), its registry line,
 * and its op module (or its name in an existing op's `kernels`).
 */
import type { ShapeCase } from './cases.js';
import type { Launch } from './launch.js';
import type { Overrides } from './library.js';
import type { UniformValues } from './reflect.js';

export interface KernelOp {
  /** The op's name: what `effnet kernel-bench --op` takes. */
  readonly name: string;
  /**
   * Its kernels: the first is the interface the others share by design (bindings and `Params`), and the
   * contract a user's kernel for the op must meet.
   */
  readonly kernels: readonly string[];
  /**
   * Its kernels with an interface of their own (dwconv_compact takes dwconv's specialisation as uniforms): its
   * case, probe and plain variant cover them; kernel-bench does not swap them.
   */
  readonly otherInterface?: readonly string[];
  /** kernel-bench can swap a user's kernel in for this op's launches. */
  readonly benchable: boolean;
  /** Seeded inputs, packed buffers and the float64 reference of one launch of `kernel` (src/kernels/cases.ts). */
  case(kernel: string, u: UniformValues, o: Overrides, seed: number): ShapeCase;
  /**
   * The uniforms of a small known-answer launch standing for `l` (same kernel and overrides: the very same
   * pipeline) that still takes every path `l`'s variant has: ragged tiles, a block cut short, tiles straddling
   * PROBE_IMAGES images, the padding rule and stride of `l`.
   */
  probe(l: Launch): UniformValues;
  /**
   * Launches of `l`'s pipeline beyond its probe that a model's own shapes may never take (kernel-bench checks them
   * beside the model's): TensorFlow SAME padding at stride 2, asymmetric where torchvision's symmetric K/2 hides a
   * hard-coded pad; a last strip cut short at widths every common resolution divides.
   */
  edges?(l: Launch): EdgeCase[];
  /** The simplest launch computing exactly what `l` does with the same bindings and uniforms (variants.ts). */
  plain?(l: Launch): Launch;
  /** Tile overrides worth timing for `l` (the tuner keeps those its kernel's `Tile:` space allows). */
  candidates?(l: Launch, max: number): Overrides[];
}

/** A launch of some pipeline's kernel and overrides at other uniforms, and what it exercises (for the report). */
export interface EdgeCase {
  uniforms: UniformValues;
  why: string;
}

/** Images in every probe: tiles and reductions that cross an image boundary get checked. */
export const PROBE_IMAGES = 2;
