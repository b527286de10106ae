/**
 * The op graph the builder produces and the executor records: kernels with their specialisation
 * (overrides), sizes (uniforms), dispatch size, and what each binding reads or writes — an activation
 * tensor, a weight, or nothing (a fusion that is switched off still needs a buffer bound).
 */
import type { Overrides } from '../kernels/library.js';
import type { UniformValues } from '../kernels/reflect.js';
import type { BlockType } from '../model/tables.js';

export type TensorRef = { tensor: number };
export type Ref = TensorRef | { weight: string } | { dummy: true };

export type BlockKind = 'stem' | BlockType | 'head';

export interface Op {
  /** torchvision-style module path plus the op, e.g. 'features.2.0.dwconv'. */
  name: string;
  /** Profiling pass: 'stem', 'stage<i>' (table stage i), 'head'. */
  stage: string;
  block: BlockKind;
  kernel: string;
  overrides: Overrides;
  uniforms: UniformValues;
  /** Linear workgroup count. */
  workgroups: number;
  bind: Record<string, Ref>;
  /** 2 × multiply-adds, and bytes read + written (activations and weights), estimated from shapes. */
  flops: number;
  bytes: number;
}

export interface TensorSpec {
  id: number;
  name: string;
  bytes: number;
  /** NHWC with C padded to 4 (`c4` = padded channels), or a dense [n, k] row matrix. */
  shape: { n: number; h: number; w: number; c: number; c4: number };
}

export interface Graph {
  ops: Op[];
  tensors: TensorSpec[];
  input: number;
  output: number;
  /** Tensors that must stay readable after the run (stage outputs for verification). */
  keep: number[];
  /** Packed weights, by key, as the kernels read them. */
  weights: Map<string, Float32Array>;
}
