/**
 * Reflection of kernel WGSL with wgsl_reflect. Uniform layouts are never restated in TypeScript: the
 * byte offset of every field comes from here, and `UniformLayout.pack` writes values by field name.
 */
import { WgslParser, WgslReflect, ResourceType } from 'wgsl_reflect/wgsl_reflect.module.js';
import type { VariableInfo, MemberInfo } from 'wgsl_reflect/wgsl_reflect.module.js';
import { EffnetError } from '../errors.js';
import { parseExpression, type Expression } from './expression.js';

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
  /**
   * Each override's default as written in the WGSL (booleans as 1/0), an expression over the overrides
   * declared before it (`override GEMM_WG: u32 = WG_M * WG_N;`); absent for an override without a default.
   */
  overrideDefaults: ReadonlyMap<string, Expression>;
  /** Each compute entry point's `@workgroup_size`, as the product of its dimensions over the overrides. */
  workgroupSizes: ReadonlyMap<string, Expression>;
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
  const { overrideDefaults, workgroupSizes } = constantExpressions(source, label);
  return {
    entryPoints: r.entry.compute.map((f) => f.name),
    bindings,
    overrides: r.overrides.map((o) => o.name),
    overrideDefaults,
    workgroupSizes,
    uniforms,
  };
}

/** The part of wgsl_reflect's AST the override defaults and workgroup sizes are read from. */
interface AstNode {
  readonly astNodeType: string;
  readonly name?: string;
  readonly operator?: string;
  readonly value?: unknown;
  readonly left?: AstNode;
  readonly right?: AstNode;
  readonly args?: readonly AstNode[] | null;
  readonly attributes?: readonly { name: string; value: string | string[] | null }[] | null;
}

/**
 * A constant WGSL expression written in src/kernels/expression.ts's grammar (literals, override names, + − * /,
 * min/max), so TypeScript evaluates it exactly as the pipeline will for any override values; anything else in
 * a default or a workgroup size is refused rather than guessed.
 */
function expressionText(node: AstNode, label: string): string {
  switch (node.astNodeType) {
    case 'literalExpr': {
      const v = (node.value as { data: ArrayLike<number> }).data[0]!;
      return String(Number(v));
    }
    case 'varExpr':
      return node.name!;
    case 'binaryOp':
      if ('+-*/'.includes(node.operator!)) return `(${expressionText(node.left!, label)} ${node.operator} ${expressionText(node.right!, label)})`;
      break;
    case 'unaryOp':
      if (node.operator === '-') return `(0 - ${expressionText(node.right!, label)})`;
      break;
    case 'callExpr':
      if (node.name === 'min' || node.name === 'max') return `${node.name}(${(node.args ?? []).map((a) => expressionText(a, label)).join(', ')})`;
      break;
  }
  throw new EffnetError('KERNEL_REGISTRY', `kernel '${label}': cannot evaluate a ${node.astNodeType} ${node.operator ?? node.name ?? ''} in an override default or @workgroup_size (literals, overrides, + - * /, min and max only)`);
}

function constantExpressions(source: string, label: string): Pick<ReflectedKernel, 'overrideDefaults' | 'workgroupSizes'> {
  const ast = new WgslParser().parse(source) as unknown as AstNode[];
  const overrideDefaults = new Map<string, Expression>();
  const workgroupSizes = new Map<string, Expression>();
  for (const node of ast) {
    if (node.astNodeType === 'override' && node.value) overrideDefaults.set(node.name!, parseExpression(expressionText(node.value as AstNode, label)));
    if (node.astNodeType !== 'function') continue;
    const size = node.attributes?.find((a) => a.name === 'workgroup_size');
    if (!size?.value) continue;
    // The parser keeps each dimension's source text; evaluating it needs only the grammar above.
    const dims = Array.isArray(size.value) ? size.value : [size.value];
    workgroupSizes.set(node.name!, parseExpression(dims.map((d) => `(${d})`).join(' * ')));
  }
  return { overrideDefaults, workgroupSizes };
}

/**
 * Every override's value for a launch that sets `given`: the given ones, and each other override's WGSL
 * default evaluated over the others' values (WebGPU's rule for pipeline-overridable constants; WGSL lets a
 * default name an override declared later in the module).
 */
export function overrideValues(r: Pick<ReflectedKernel, 'overrides' | 'overrideDefaults'>, given: Readonly<Record<string, number>>): Record<string, number> {
  const values: Record<string, number> = {};
  const resolve = (name: string, from: readonly string[]): number | undefined => {
    if (Object.hasOwn(given, name)) return given[name];
    if (Object.hasOwn(values, name)) return values[name];
    const d = r.overrideDefaults.get(name);
    if (!d || from.includes(name)) return undefined;
    const deps: Record<string, number> = {};
    for (const n of d.names) {
      const v = resolve(n, [...from, name]);
      if (v !== undefined) deps[n] = v;
    }
    return (values[name] = d.evaluate(deps));
  };
  for (const name of r.overrides) {
    const v = resolve(name, []);
    if (v !== undefined) values[name] = v;
  }
  return values;
}
