/**
 * What `effnet demo` (tools/commands/demo.ts) and its page (demo.ts) share: the page's configuration and the
 * backends it may ask for. No Node import here: the page's bundle includes this module.
 */

export type DemoBackend = 'auto' | 'webgpu' | 'cpu';
export const DEMO_BACKENDS: readonly DemoBackend[] = ['auto', 'webgpu', 'cpu'];

/** What the page reads from /config.json. */
export interface DemoConfig {
  arch: string;
  weights: string;
  preset: 'tfjs' | 'torchvision';
  labels: string[];
  samples: { name: string; url: string }[];
  /** loadModel's backend (`effnet demo --backend`; the page's `?backend=` overrides it). */
  backend: DemoBackend;
  /**
   * LiteRT.js for the CPU fallback: its served wasm folder and version (its module is `@litertjs/core` in the page's
   * import map), or why the server has none to offer.
   */
  cpu: { wasm: string; version: string } | { missing: string };
}
