/**
 * The on-device self-test. A schedule runs compiled pipeline variants (kernel + overrides: fusions, tile) that
 * the CI never ran on this device's compiler and hardware. Before a schedule is first used, each of its variants
 * not yet checked on this device runs a small known-answer case (src/kernels/probe.ts: the very pipeline, at a
 * small shape that still takes its ragged-tile and cross-image paths) with seeded inputs, outputs pre-filled
 * with NaN so an unwritten value shows, against the float64 CPU reference under the kernel tolerances. A variant
 * that fails goes into `avoid`, and the schedule is built again with the next variant of those launches
 * (src/kernels/variants.ts: tuned → planned → plain), which is checked in turn.
 *
 * Results are kept per device, so models sharing a device check each variant once. The cost is a few
 * milliseconds of GPU work and of float64 reference per variant, plus compiling the pipelines the schedule
 * compiles anyway (README, "On-device self-test", has the figures).
 */
import { createBuffer } from '../buffers.js';
import { encodeDispatch, type Launch } from '../kernels/launch.js';
import { pipelineKey, type KernelLibrary } from '../kernels/library.js';
import { kernelCase, probeLaunch } from '../kernels/ops.js';
import { compare } from '../reference/compare.js';
import type * as web from '../platform-types.js';

export interface VariantCheck {
  /** `kernel|overrides`, the pipeline key (src/kernels/library.ts). */
  variant: string;
  kernel: string;
  /** Passed, failed, or not checkable (a kernel no schedule runs has no probe). */
  status: 'pass' | 'fail' | 'untested';
  /** One line: the largest error when it passed; what was wrong when it failed. */
  message: string;
  /** Wall time of this variant's check (its pipeline compile excluded). */
  ms: number;
}

const tests = new WeakMap<GPUDevice, SelfTest>();

export class SelfTest {
  /** Variants that failed on this device: what LaunchTarget.avoid gets. */
  readonly avoid = new Set<string>();
  readonly #checks = new Map<string, Promise<VariantCheck>>();
  readonly #done: VariantCheck[] = [];

  /** The self-test of this device (one per device, shared by every model on it). */
  static of(device: web.GPUDevice): SelfTest {
    let t = tests.get(device);
    if (!t) tests.set(device, (t = new SelfTest()));
    return t;
  }

  /** Every check finished so far on this device. */
  get checks(): readonly VariantCheck[] {
    return this.#done;
  }

  /**
   * Check each distinct variant among `launches` that this device has not checked yet (compiling its pipeline
   * through `lib`, which the schedule then reuses); resolves with the checks of all of them, old and new.
   */
  async verify(lib: KernelLibrary, launches: Iterable<Launch>): Promise<VariantCheck[]> {
    const mine = new Map<string, Promise<VariantCheck>>();
    for (const l of launches) {
      const key = pipelineKey(l.kernel, l.overrides);
      if (mine.has(key)) continue;
      let c = this.#checks.get(key);
      if (!c) {
        c = checkVariant(lib, l, key).then((r) => {
          if (r.status === 'fail') this.avoid.add(key);
          this.#done.push(r);
          return r;
        });
        this.#checks.set(key, c);
      }
      mine.set(key, c);
    }
    return Promise.all(mine.values());
  }
}

/** Seeds differ per variant only through the key, so a variant checks the same data on every run and host. */
function seedOf(key: string): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return h >>> 0;
}

async function checkVariant(lib: KernelLibrary, l: Launch, variant: string): Promise<VariantCheck> {
  const probe = probeLaunch(l);
  if (!probe) return { variant, kernel: l.kernel, status: 'untested', message: 'no known-answer case for this kernel', ms: 0 };
  const pipeline = await lib.pipeline(probe.kernel, probe.overrides);
  const t0 = performance.now();
  const { device } = lib;
  const c = kernelCase(probe.kernel, probe.uniforms, probe.overrides, seedOf(variant));
  const made: GPUBuffer[] = [];
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const fail = (message: string): VariantCheck => ({ variant, kernel: l.kernel, status: 'fail', message, ms: performance.now() - t0 });
  device.pushErrorScope('validation');
  let scoped = true;
  try {
    const resources: Record<string, GPUBuffer> = {};
    for (const [name, v] of Object.entries(c.buffers)) {
      // Outputs (and unused placeholders) start as NaN: a value the kernel never writes cannot pass.
      const data = typeof v === 'number' ? new Float32Array(Math.ceil(v / 4)).fill(NaN) : v;
      made.push((resources[name] = createBuffer(device, { label: `self-test.${name}`, bytes: data.byteLength, usage, data })));
    }
    made.push((resources.params = lib.uniformBuffer(probe.kernel, probe.uniforms, 'self-test')));
    const staging = c.outputs.map((o) => {
      const b = device.createBuffer({ label: `self-test.${o.binding}.read`, size: resources[o.binding]!.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      made.push(b);
      return b;
    });
    const enc = device.createCommandEncoder({ label: 'self-test' });
    const pass = enc.beginComputePass({ label: `self-test ${variant}` });
    encodeDispatch(pass, { pipeline, bindGroup: lib.bindGroup(probe.kernel, resources, 'self-test'), grid: lib.grid(probe.workgroups) });
    pass.end();
    c.outputs.forEach((o, i) => enc.copyBufferToBuffer(resources[o.binding]!, 0, staging[i]!, 0, staging[i]!.size));
    device.queue.submit([enc.finish()]);
    scoped = false;
    const err = await device.popErrorScope();
    if (err) return fail(`WebGPU rejected it: ${err.message.split('\n')[0]}`);
    await Promise.all(staging.map((b) => b.mapAsync(GPUMapMode.READ)));
    const results = c.outputs.map((o, i) => {
      const read = new Float32Array(staging[i]!.getMappedRange().slice(0));
      // The buffer is rounded up to 16 bytes; the case's output is the size it asked for.
      return compare(o.got(read.subarray(0, (c.buffers[o.binding] as number) / 4)), o.want, o.tol, o.label);
    });
    const bad = results.find((r) => !r.ok);
    if (bad) return fail(bad.message);
    const worst = Math.max(...results.map((r) => r.maxAbs));
    return { variant, kernel: l.kernel, status: 'pass', message: `max abs err ${worst.toExponential(2)} at ${shapeText(probe)}`, ms: performance.now() - t0 };
  } catch (e) {
    return fail(`threw: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    if (scoped) await device.popErrorScope().catch(() => undefined);
    for (const b of made) b.destroy();
  }
}

const shapeText = (l: Launch) =>
  Object.entries(l.uniforms)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
