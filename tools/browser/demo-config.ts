/**
 * What `effnet demo` (tools/commands/demo.ts) and its page (demo.ts) share: the page's configuration. No Node
 * import here: the page's bundle includes this module.
 */
import type { Backend } from '../harness/flags.js';

/** What the page reads from /config.json. */
export interface DemoConfig {
  arch: string;
  weights: string;
  preset: 'tfjs' | 'torchvision';
  labels: string[];
  samples: { name: string; url: string }[];
  /** loadModel's backend (`effnet demo --backend`; the page's `?backend=` overrides it). */
  backend: Backend;
  /**
   * LiteRT.js for the CPU fallback: its served wasm folder and version (its module is `@litertjs/core` in the page's
   * import map), or why the server has none to offer.
   */
  cpu: { wasm: string; version: string } | { missing: string };
}
