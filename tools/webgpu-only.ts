/**
 * `--backend` on the commands that are about our WebGPU kernels (`plan`, `tune`, `kernel-bench`): they take it so
 * that a script passing the same flags to every command works, run WebGPU whatever it says, and refuse 'cpu' in
 * one line (the CPU backend runs none of our kernels; `profile --backend cpu` is its per-stage timing).
 */
import { backendFlag } from './harness/index.js';

export function webgpuOnly(command: string, v: string | boolean | undefined, log?: (line: string) => void): void {
  const backend = backendFlag(v);
  if (backend === 'cpu') {
    throw new Error(`${command} is about our WebGPU kernels, which the CPU backend does not run: --backend takes webgpu or auto here (per-stage times on the CPU runtime: effnet profile --backend cpu)`);
  }
  if (backend === 'auto' && v !== undefined) log?.(`${command} always runs our WebGPU kernels (--backend auto means webgpu here)`);
}
