/**
 * KernelLibrary: turns registry entries into GPU objects on one device — shader modules and explicit
 * bind-group layouts built from the reflected bindings (never 'auto', so an unused binding is still validated),
 * pipelines cached per override set, uniforms packed through the reflected layout, bind groups checked
 * by binding name.
 */
import { EffnetError } from '../errors.js';
import { createBuffer } from '../buffers.js';
import { kernelEntry, kernelSource, reflectedKernel, type KernelEntry } from './registry.js';
import type { BindingKind, ReflectedKernel, UniformLayout, UniformValues } from './reflect.js';
import type * as web from '../platform-types.js';

export type Overrides = Record<string, number>;

/** The key a pipeline is cached under (and `pipelineKeys` lists): kernel and override values, in name order. */
export const pipelineKey = (kernel: string, overrides: Overrides): string =>
  `${kernel}|${Object.keys(overrides).sort().map((k) => `${k}=${overrides[k]}`).join(',')}`;

/** The bind-group layout entry of binding `binding`: a buffer of its kind, or a texture_2d<f32> read with textureLoad (reflect.ts refuses other textures). */
export function layoutEntry(binding: number, kind: BindingKind): web.GPUBindGroupLayoutEntry {
  return {
    binding,
    visibility: GPUShaderStage.COMPUTE,
    ...(kind === 'texture' ? { texture: { sampleType: 'float', viewDimension: '2d' } } : { buffer: { type: kind } }),
  };
}

/** A linear workgroup count folded into (x, y) within `max` per dimension; undefined when even max² is too few. */
export function foldWorkgroups(count: number, max: number): [number, number, number] | undefined {
  if (count <= max) return [Math.max(1, count), 1, 1];
  const y = Math.ceil(count / max);
  return y > max ? undefined : [Math.ceil(count / y), y, 1];
}

export class KernelLibrary {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly layouts = new Map<string, GPUPipelineLayout & { group0: GPUBindGroupLayout }>();
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();

  constructor(readonly device: web.GPUDevice) {}

  entry(name: string): KernelEntry {
    return kernelEntry(name);
  }

  reflect(name: string): ReflectedKernel {
    return reflectedKernel(kernelEntry(name));
  }

  /** The layout of the kernel's uniform binding (the registry's conventions give every kernel exactly one). */
  uniformLayout(name: string): UniformLayout {
    const entry = kernelEntry(name);
    const u = entry.bindings.find((b) => b.kind === 'uniform');
    const layout = u && this.reflect(name).uniforms.get(u.name);
    if (!layout) throw new EffnetError('KERNEL_REGISTRY', `kernel '${name}' has no uniform binding`);
    return layout;
  }

  packUniforms(name: string, values: UniformValues): ArrayBuffer {
    return this.uniformLayout(name).pack(values, name);
  }

  /** A uniform buffer holding `values`, written by field name. */
  uniformBuffer(name: string, values: UniformValues, label = name): web.GPUBuffer {
    const data = new Uint8Array(this.packUniforms(name, values));
    return createBuffer(this.device, { label: `${label}.params`, bytes: data.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, data });
  }

  private layout(name: string) {
    let l = this.layouts.get(name);
    if (!l) {
      const entry = kernelEntry(name);
      const group0 = this.device.createBindGroupLayout({
        label: name,
        entries: entry.bindings.map((b, i) => layoutEntry(i, b.kind)),
      });
      l = Object.assign(this.device.createPipelineLayout({ label: name, bindGroupLayouts: [group0] }), { group0 });
      this.layouts.set(name, l);
    }
    return l;
  }

  private module(name: string): GPUShaderModule {
    let m = this.modules.get(name);
    if (!m) {
      m = this.device.createShaderModule({ label: name, code: kernelSource(kernelEntry(name)) });
      this.modules.set(name, m);
    }
    return m;
  }

  /** Keys (`kernel|overrides`) of every pipeline this library has created or is creating. */
  pipelineKeys(): string[] {
    return [...this.pipelines.keys()];
  }

  /** Pipelines are shared by every layer with the same kernel and override values. */
  pipeline(name: string, overrides: Overrides = {}): Promise<web.GPUComputePipeline> {
    const entry = kernelEntry(name);
    const bad = Object.keys(overrides).filter((k) => !entry.overrides.includes(k));
    if (bad.length) {
      throw new EffnetError('KERNEL_REGISTRY', `kernel '${name}': unknown override(s) ${bad.join(', ')} (allowed: ${entry.overrides.join(', ') || 'none'})`);
    }
    const key = pipelineKey(name, overrides);
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.createPipeline(entry, overrides);
      this.pipelines.set(key, p);
      p.catch(() => this.pipelines.delete(key));
    }
    return p;
  }

  private async createPipeline(entry: KernelEntry, overrides: Overrides): Promise<GPUComputePipeline> {
    const module = this.module(entry.name);
    try {
      return await this.device.createComputePipelineAsync({
        label: entry.name,
        layout: this.layout(entry.name),
        compute: { module, entryPoint: entry.entryPoint, constants: overrides },
      });
    } catch (cause) {
      const info = await module.getCompilationInfo();
      const msgs = info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`).join('\n');
      throw new EffnetError('KERNEL_REGISTRY', `kernel '${entry.name}' failed to compile: ${(cause as Error).message}${msgs ? '\n' + msgs : ''}`, { cause });
    }
  }

  /** Bind group for `name`; `resources` must name exactly the entry's bindings (a texture binding takes a view). */
  bindGroup(name: string, resources: Record<string, web.GPUBuffer | web.GPUBufferBinding | web.GPUTextureView>, label = name): web.GPUBindGroup {
    const entry = kernelEntry(name);
    const want = entry.bindings.map((b) => b.name);
    const missing = want.filter((n) => !(n in resources));
    const extra = Object.keys(resources).filter((n) => !want.includes(n));
    if (missing.length || extra.length) {
      throw new EffnetError(
        'KERNEL_REGISTRY',
        `kernel '${name}' bind group: ${[missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `unexpected ${extra.join(', ')}` : ''].filter(Boolean).join('; ')}`,
      );
    }
    return this.device.createBindGroup({
      label,
      layout: this.layout(name).group0,
      entries: want.map((n, i) => {
        const r = resources[n]!;
        const isView = entry.bindings[i]!.kind === 'texture';
        // A GPUBuffer has `usage`, a GPUBufferBinding `buffer`, a view neither. A mismatch would surface as a
        // device validation error far from here: name the binding instead.
        const isBuffer = 'usage' in r || 'buffer' in r;
        if (isView === isBuffer) throw new EffnetError('KERNEL_REGISTRY', `kernel '${name}' bind group: ${n} takes a ${isView ? 'texture view' : 'buffer'}`);
        return { binding: i, resource: isView || 'buffer' in r ? (r as GPUTextureView | GPUBufferBinding) : { buffer: r as GPUBuffer } };
      }),
    });
  }

  /** Fold a linear workgroup count into (x, y) within maxComputeWorkgroupsPerDimension. */
  grid(count: number): [number, number, number] {
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    const grid = foldWorkgroups(count, max);
    if (!grid) throw new EffnetError('LIMIT_EXCEEDED', `dispatch of ${count} workgroups exceeds ${max}² on this device`);
    return grid;
  }

  workgroups(name: string, params: Record<string, number>): [number, number, number] {
    return this.grid(kernelEntry(name).workgroups(params));
  }
}
