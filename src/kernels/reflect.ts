/**
 * Reflection of kernel WGSL with wgsl_reflect. Uniform layouts are never restated in TypeScript: the
 * byte offset of every field comes from here, and `UniformLayout.pack` writes values by field name.
 */
import { WgslReflect, ResourceType } from 'wgsl_reflect/wgsl_reflect.module.js';
import type { VariableInfo, MemberInfo } from 'wgsl_reflect/wgsl_reflect.module.js';
import { EffnetError } from '../errors.js';

/**
 * Buffer bindings by their WebGPU buffer binding type; 'texture' is a sampled `texture_2d<f32>` (read with
 * textureLoad; only kernels/preprocess_texture.wgsl has one, for images the browser copies to the GPU).
 */
export type BindingKind = 'uniform' | 'storage' | 'read-only-storage' | 'texture';

export interface ReflectedBinding {
  group: number;
  binding: number;
  name: string;
  kind: BindingKind;
  /** WGSL type as written, e.g. `array<vec4<f32>>` or the uniform struct name. */
  type: string;
}

export interface ReflectedKernel {
  entryPoints: string[];
  bindings: ReflectedBinding[];
  overrides: string[];
  /** Layout of each uniform binding's struct, by binding variable name. */
  uniforms: Map<string, UniformLayout>;
}

type Scalar = 'u32' | 'i32' | 'f32';
interface FieldLayout {
  offset: number;
  scalar: Scalar;
  /** Components: 1 for scalars, 2..4 for vectors. */
  width: number;
}

export type UniformValues = Record<string, number | readonly number[]>;

export class UniformLayout {
  constructor(
    readonly structName: string,
    readonly size: number,
    readonly fields: ReadonlyMap<string, FieldLayout>,
  ) {}

  /** Every field must be given, and nothing else: a missing or misspelt name is a bug, not a default. */
  pack(values: UniformValues, kernel = this.structName): ArrayBuffer {
    const missing = [...this.fields.keys()].filter((k) => !(k in values));
    const unknown = Object.keys(values).filter((k) => !this.fields.has(k));
    if (missing.length || unknown.length) {
      throw new EffnetError(
        'UNIFORM_FIELD',
        `kernel '${kernel}' uniform ${this.structName}: ` +
          [missing.length ? `missing field(s) ${missing.join(', ')}` : '', unknown.length ? `unknown field(s) ${unknown.join(', ')}` : '']
            .filter(Boolean)
            .join('; '),
      );
    }
    const buf = new ArrayBuffer(this.size);
    const view = new DataView(buf);
    for (const [name, f] of this.fields) {
      const v = values[name]!;
      const comps = typeof v === 'number' ? [v] : v;
      if (comps.length !== f.width) {
        throw new EffnetError('UNIFORM_FIELD', `kernel '${kernel}' field ${name} has ${f.width} component(s), got ${comps.length}`);
      }
      comps.forEach((x, i) => {
        const at = f.offset + 4 * i;
        if (f.scalar === 'f32') view.setFloat32(at, x, true);
        else {
          const ok = Number.isInteger(x) && (f.scalar === 'u32' ? x >= 0 && x <= 0xffffffff : x >= -(2 ** 31) && x < 2 ** 31);
          if (!ok) throw new EffnetError('UNIFORM_FIELD', `kernel '${kernel}' field ${name}: ${x} is not a valid ${f.scalar}`);
          if (f.scalar === 'u32') view.setUint32(at, x, true);
          else view.setInt32(at, x, true);
        }
      });
    }
    return buf;
  }
}

const VECTOR = /^vec([234])(?:<(u32|i32|f32)>|(u|i|f))$/;

function fieldLayout(m: MemberInfo, struct: string): FieldLayout {
  const name = m.type.getTypeName();
  if (name === 'u32' || name === 'i32' || name === 'f32') return { offset: m.offset, scalar: name, width: 1 };
  const vec = VECTOR.exec(name);
  if (vec) {
    const scalar = (vec[2] ?? { u: 'u32', i: 'i32', f: 'f32' }[vec[3] as 'u' | 'i' | 'f']) as Scalar;
    return { offset: m.offset, scalar, width: Number(vec[1]) };
  }
  // Nested structs/arrays in uniforms would need a richer writer; no kernel needs them, so refuse loudly.
  throw new EffnetError('KERNEL_REGISTRY', `uniform struct ${struct}: field ${m.name} has unsupported type ${name}`);
}

function kindOf(v: VariableInfo): BindingKind {
  if (v.resourceType === ResourceType.Uniform) return 'uniform';
  if (v.resourceType === ResourceType.Storage) return v.access === 'read' ? 'read-only-storage' : 'storage';
  // The bind-group layout the library builds for a texture says 2-D, float samples: refuse any other texture type.
  if (v.resourceType === ResourceType.Texture && v.type.getTypeName() === 'texture_2d<f32>') return 'texture';
  throw new EffnetError('KERNEL_REGISTRY', `binding ${v.name}: kernels bind uniform and storage buffers and texture_2d<f32>, not ${v.type.getTypeName()}`);
}

export function reflectKernel(source: string, label: string): ReflectedKernel {
  let r: WgslReflect;
  try {
    r = new WgslReflect(source);
  } catch (cause) {
    throw new EffnetError('KERNEL_REGISTRY', `kernel '${label}': WGSL does not parse: ${(cause as Error).message}`, { cause });
  }
  const bindings: ReflectedBinding[] = [];
  const uniforms = new Map<string, UniformLayout>();
  for (const group of r.getBindGroups()) {
    for (const v of group) {
      if (!v) continue;
      bindings.push({ group: v.group, binding: v.binding, name: v.name, kind: kindOf(v), type: v.type.getTypeName() });
      if (v.resourceType === ResourceType.Uniform) {
        const members = v.members;
        if (!members) throw new EffnetError('KERNEL_REGISTRY', `kernel '${label}': uniform ${v.name} must be a struct`);
        const structName = v.type.getTypeName();
        uniforms.set(v.name, new UniformLayout(structName, v.size, new Map(members.map((m) => [m.name, fieldLayout(m, structName)]))));
      }
    }
  }
  bindings.sort((a, b) => a.group - b.group || a.binding - b.binding);
  return {
    entryPoints: r.entry.compute.map((f) => f.name),
    bindings,
    overrides: r.overrides.map((o) => o.name),
    uniforms,
  };
}
