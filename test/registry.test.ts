import { describe, expect, test } from 'vitest';
import { KERNELS, checkConventions, defineKernel, expandIncludes, kernelSource } from '../src/kernels/registry.js';
import { reflectKernel } from '../src/kernels/reflect.js';
import { isEffnetError } from '../src/errors.js';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const kernelDir = fileURLToPath(new URL('../kernels/', import.meta.url));
const wgslFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.wgsl')).sort();

describe('kernel registry', () => {
  test('every kernels/*.wgsl file is registered exactly once, and each entry carries its own file', () => {
    expect(KERNELS.map((k) => `${k.name}.wgsl`).sort()).toEqual(wgslFiles(kernelDir));
    expect(new Set(KERNELS.map((k) => k.name)).size).toBe(KERNELS.length);
    for (const k of KERNELS) expect(k.source, k.name).toBe(readFileSync(`${kernelDir}${k.name}.wgsl`, 'utf8'));
  });

  test('every kernels/lib/*.wgsl file is what its //!include resolves to', () => {
    for (const f of wgslFiles(`${kernelDir}lib/`)) {
      // Its own includes are blanked the same way (and appended after it).
      const body = readFileSync(`${kernelDir}lib/${f}`, 'utf8').replace(/^[ \t]*\/\/!include[ \t]+(\S+)[ \t]*$/gm, '// include $1: appended below');
      const { code, ownLines, libraries } = expandIncludes(`// mine\n//!include lib/${f}\n//!include lib/${f}\nconst mine = 1;\n`, 'probe');
      // The kernel's own lines stay where they were; the library follows once.
      expect(code.split('\n')[3]).toBe('const mine = 1;');
      expect(ownLines).toBe(5);
      expect(code.split(body).length, f).toBe(2);
      const at = libraries.find((l) => l.file === `lib/${f}`)!.firstLine;
      expect(code.split('\n').slice(at - 1, at - 1 + body.split('\n').length - 1).join('\n')).toBe(body.replace(/\n$/, ''));
    }
    expect(() => kernelSource({ name: 'probe', source: '\n//!include lib/none.wgsl\n' })).toThrow(/probe\.wgsl:2: include of unknown file lib\/none\.wgsl/);
  });

  for (const entry of KERNELS) {
    test(`${entry.name}: header, reflected bindings in convention order, entry point, overrides and dispatch formula`, () => {
      const src = kernelSource(entry);
      expect(src).not.toMatch(/\/\/!include/);
      // The header comment documents computation, layouts, one invocation and the dispatch formula.
      expect(entry.source.trimStart().startsWith('//')).toBe(true);
      expect(entry.source).toMatch(/Dispatch:/);
      const r = reflectKernel(src, entry.name);
      expect(r.entryPoints).toContain(entry.entryPoint);
      expect(entry.bindings).toEqual(r.bindings);
      expect(entry.overrides).toEqual(r.overrides);
      // The convention: all in group 0, numbered in order; the uniform `params`, then read-only inputs, then outputs.
      expect(r.bindings.map((b) => [b.group, b.binding])).toEqual(r.bindings.map((_, i) => [0, i]));
      expect(r.bindings[0]).toMatchObject({ name: 'params', kind: 'uniform' });
      const kinds = r.bindings.slice(1).map((b) => b.kind);
      const firstOutput = kinds.indexOf('storage');
      expect(firstOutput).toBeGreaterThanOrEqual(0);
      // Inputs are read-only storage buffers, or a texture (preprocess_texture's browser image).
      expect(kinds.slice(0, firstOutput).every((k) => k === 'read-only-storage' || k === 'texture')).toBe(true);
      expect(kinds.slice(firstOutput).every((k) => k === 'storage')).toBe(true);
      const u = r.uniforms.get('params')!;
      expect(r.uniforms.size).toBe(1);
      expect(u.size).toBeGreaterThan(0);
      expect(u.fields.size).toBeGreaterThan(0);
      // The header's Dispatch and Accumulators lines read only what a launch has (checked when first used), and
      // the workgroup size and register tile need no uniform value (they describe a pipeline, not a launch).
      const fields = Object.fromEntries([...u.fields.keys()].map((k) => [k, 3]));
      const count = entry.workgroups(fields);
      expect(Number.isInteger(count) && count > 0).toBe(true);
      expect(entry.workgroupSize({})).toBeGreaterThan(0);
      expect(entry.accumulators({})).toBeGreaterThan(0);
      const size = /@workgroup_size\((\w+)\)/.exec(src)![1]!;
      // Nothing is restated in TypeScript: the defaults are the WGSL's own.
      if (size === 'WG') expect(entry.workgroupSize({})).toBe(Number(/override WG: u32 = (\d+);/.exec(src)![1]));
      if (size === 'WG') expect(entry.workgroupSize({ WG: 96 })).toBe(96);
      else expect([size, entry.workgroupSize({ WG_M: 8, WG_N: 16 })]).toEqual(['GEMM_WG', 128]);
    });
  }

  test('a header line that reads what no launch has, or none at all, is refused when the kernel is first used', () => {
    const add = KERNELS.find((k) => k.name === 'elementwise')!.source;
    expect(() => defineKernel('probe', add.replace('ceil(count / WG)', 'ceil(rows / WG)')).workgroups({ count: 4 })).toThrow(
      "kernel 'probe': 'Dispatch: ceil(rows / WG)' reads rows, neither a Params field nor an override",
    );
    expect(() => defineKernel('probe', add.replace('// Accumulators: 4\n', '')).accumulators({})).toThrow("kernel 'probe': no '// Accumulators:' header line");
    expect(defineKernel('probe', add.replace('override WG: u32 = 64;', 'override WG: u32 = 2 * 48;')).workgroups({ count: 97 })).toBe(2);
  });

  describe('binding conventions are enforced at reflection', () => {
    const probe = (bindings: string, entry = 'main') => () =>
      checkConventions('probe', reflectKernel(`struct P { n: u32 }\n${bindings}\n@compute @workgroup_size(1) fn main() {}`, 'probe'), entry);
    const params = '@group(0) @binding(0) var<uniform> params: P;';
    const x = (at: number, group = 0) => `@group(${group}) @binding(${at}) var<storage, read> x: array<f32>;`;
    const y = (at: number) => `@group(0) @binding(${at}) var<storage, read_write> y: array<f32>;`;
    const refused = (f: () => void, why: RegExp) => {
      expect(f).toThrow(why);
      try {
        f();
      } catch (e) {
        expect(isEffnetError(e, 'KERNEL_REGISTRY')).toBe(true);
      }
    };

    test('the conventional order passes', () => expect(probe([params, x(1), y(2)].join('\n'))).not.toThrow());
    test('an output before an input', () => refused(probe([params, y(1), x(2)].join('\n')), /read-only-storage x follows storage y/));
    test('the uniform not first', () => refused(probe([x(0), y(1)].join('\n')), /binding 0 is read-only-storage x/));
    test('a gap or another group', () => {
      refused(probe([params, x(2), y(3)].join('\n')), /x is @group\(0\) @binding\(2\), expected @group\(0\) @binding\(1\)/);
      refused(probe([params, x(1, 1)].join('\n')), /x is @group\(1\) @binding\(1\), expected @group\(0\) @binding\(1\)/);
    });
    test('no output', () => refused(probe([params, x(1)].join('\n')), /no output binding/));
    test('a missing entry point', () => refused(probe([params, y(1)].join('\n'), 'run'), /no compute entry point run/));
    test('a texture_2d<f32> is an input; other textures are refused', () => {
      const tex = (type: string) => `@group(0) @binding(1) var src: ${type};`;
      expect(reflectKernel(['struct P { n: u32 }', params, tex('texture_2d<f32>'), y(2)].join('\n') + '\n@compute @workgroup_size(1) fn main() {}', 'probe').bindings[1])
        .toMatchObject({ name: 'src', kind: 'texture', type: 'texture_2d<f32>' });
      expect(probe([params, tex('texture_2d<f32>'), y(2)].join('\n'))).not.toThrow();
      refused(probe([params, y(1), tex('texture_2d<f32>').replace('(1)', '(2)')].join('\n')), /texture src follows storage y/);
      refused(probe([params, tex('texture_3d<f32>'), y(2)].join('\n')), /not texture_3d<f32>/);
    });
  });
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
