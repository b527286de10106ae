import { describe, expect, test } from 'vitest';
import { KERNELS, kernelSource } from '../src/kernels/registry.js';
import { KERNEL_SOURCES } from '../src/kernels/sources.js';
import { reflectKernel } from '../src/kernels/reflect.js';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const kernelDir = fileURLToPath(new URL('../kernels/', import.meta.url));

describe('kernel registry', () => {
  test('every kernels/*.wgsl file is registered exactly once, and every entry has its file', () => {
    const files = readdirSync(kernelDir).filter((f) => f.endsWith('.wgsl')).sort();
    expect(Object.keys(KERNEL_SOURCES).sort()).toEqual(files);
    expect(KERNELS.map((k) => k.file).sort()).toEqual(files);
    expect(new Set(KERNELS.map((k) => k.name)).size).toBe(KERNELS.length);
  });

  for (const entry of KERNELS) {
    test(`${entry.name}: reflected bindings, entry point and overrides match the registry entry`, () => {
      const src = kernelSource(entry);
      expect(src).not.toMatch(/\/\/!include/);
      // The header comment documents computation, layouts, one invocation and the dispatch formula.
      expect(KERNEL_SOURCES[entry.file]!.trimStart().startsWith('//')).toBe(true);
      expect(KERNEL_SOURCES[entry.file]).toMatch(/Dispatch:/);
      const r = reflectKernel(src, entry.name);
      expect(r.entryPoints).toContain(entry.entryPoint);
      expect(r.bindings.map((b) => ({ group: b.group, binding: b.binding, name: b.name, kind: b.kind }))).toEqual(
        entry.bindings.map((b, i) => ({ group: 0, binding: i, name: b.name, kind: b.kind })),
      );
      for (const o of entry.overrides) expect(r.overrides).toContain(o);
      expect(entry.bindings.filter((b) => b.kind === 'uniform')).toHaveLength(1);
      const u = r.uniforms.get(entry.bindings.find((b) => b.kind === 'uniform')!.name)!;
      expect(u.size).toBeGreaterThan(0);
      expect(u.fields.size).toBeGreaterThan(0);
    });
  }
});

describe('uniform layout by reflection', () => {
  const src = `
struct P { a: u32, b: vec3<f32>, c: i32, d: vec2<u32> }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(1) fn main() { y[0] = f32(p.a) + p.b.x + f32(p.c) + f32(p.d.y); }`;
  const layout = reflectKernel(src, 'layout-probe').uniforms.get('p')!;

  test('offsets follow WGSL alignment rules (vec3 aligned to 16, vec2 to 8)', () => {
    expect(layout.fields.get('a')!.offset).toBe(0);
    expect(layout.fields.get('b')!.offset).toBe(16);
    expect(layout.fields.get('c')!.offset).toBe(28);
    expect(layout.fields.get('d')!.offset).toBe(32);
    expect(layout.size).toBe(48);
  });

  test('pack writes by field name', () => {
    const v = new DataView(layout.pack({ a: 7, b: [1.5, 2, 3], c: -4, d: [9, 10] }));
    expect(v.getUint32(0, true)).toBe(7);
    expect(v.getFloat32(16, true)).toBe(1.5);
    expect(v.getInt32(28, true)).toBe(-4);
    expect(v.getUint32(36, true)).toBe(10);
  });

  test('missing, unknown, mis-sized and out-of-range fields are errors naming the field', () => {
    expect(() => layout.pack({ a: 1, b: [1, 2, 3], c: 0 })).toThrow(/missing field\(s\) d/);
    expect(() => layout.pack({ a: 1, b: [1, 2, 3], c: 0, d: [1, 2], e: 1 })).toThrow(/unknown field\(s\) e/);
    expect(() => layout.pack({ a: 1, b: [1, 2], c: 0, d: [1, 2] })).toThrow(/field b has 3 component/);
    expect(() => layout.pack({ a: -1, b: [1, 2, 3], c: 0, d: [1, 2] })).toThrow(/-1 is not a valid u32/);
  });
});
