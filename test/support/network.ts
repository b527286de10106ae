import type { KernelBenchReport, NetworkResult } from '../../src/kernel-bench/bench.js';

/** A kernel-bench report's whole-network result, which must have run. */
export function networkRan(r: KernelBenchReport): NetworkResult {
  if (!('ok' in r.network)) throw new Error(`the network did not run: ${JSON.stringify(r.network)}`);
  return r.network;
}
