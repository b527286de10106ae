/**
 * The contract a user's kernel for one op kind must meet (kernels/README.md, "Bring your own kernel"): it is
 * our kernel for that op seen from outside — the same bindings (names, numbers, kinds, types), any subset of
 * our `Params` fields with our types, any of our overrides (the tool sets them to our launch's values), and a
 * `// Dispatch:` header line giving its workgroup count over those fields and overrides. `checkUserKernel`
 * reflects the WGSL with wgsl_reflect and refuses, in one line naming file, line and field, whatever breaks it;
 * compile errors come later, from the device (`compileUserKernel` in bench.ts).
 */
import { EffnetError } from '../errors.js';
import { expandIncludes, kernelEntry, kernelSource, reflectedKernel, type ExpandedSource } from '../kernels/registry.js';
import { reflectKernel, type ReflectedBinding, type ReflectedKernel, type UniformLayout } from '../kernels/reflect.js';
import { headerLine, parseExpression, type Expression } from '../kernels/expression.js';
import { KERNEL_OPS } from '../kernels/ops.js';

/** The ops kernel-bench can swap a user's kernel in for (src/kernels/ops.ts). */
export const BENCH_OPS: readonly string[] = KERNEL_OPS.filter((op) => op.benchable).map((op) => op.name);
export type BenchOp = string;

/**
 * Per op: the kernel whose interface is the contract (the op's first), and every kernel a tuned schedule may
 * run for it (a hardware-GPU schedule runs the `_tiled`/`_subgroup` sibling, which shares the interface by
 * design; the quick tier's dwconv_compact is never benchmarked: instrument() hands out the tuned schedule).
 */
export const OP_KERNELS: Readonly<Record<BenchOp, { contract: string; scheduled: readonly string[] }>> = Object.fromEntries(
  KERNEL_OPS.filter((op) => op.benchable).map((op) => [op.name, { contract: op.kernels[0]!, scheduled: op.kernels }]),
);

export function benchOp(name: string): BenchOp {
  if (!BENCH_OPS.includes(name)) {
    throw new EffnetError('INPUT', `--op must be one of ${BENCH_OPS.join(', ')}, got '${name}'`);
  }
  return name;
}

export interface UserKernel {
  op: BenchOp;
  /** The file name reports and errors show. */
  label: string;
  /** The WGSL as compiled: the user's file with any `//!include lib/…` of ours appended (registry expandIncludes). */
  source: string;
  reflected: ReflectedKernel;
  /** The user's uniform struct (a subset of ours), packed from our launch's values by field name. */
  uniform: UniformLayout;
  /** The user's overrides that are ours too: set to our launch's values. */
  sharedOverrides: string[];
  dispatch: Expression;
}

/**
 * wgsl_reflect reports a missing ';' at the token after it, often the next line; the statement missing it
 * ends on the last line before that one holding code.
 */
function parseErrorLine(source: string, line: number, why: string): number {
  if (!why.includes("Expected ';'")) return line;
  const lines = source.split('\n');
  const token = lines[line - 1] ?? '';
  // The reported token starts its line: the statement missing the ';' is on an earlier line.
  if (token.trim() === '' || !/^\s*(let|var|const|return|if|for|while|[A-Za-z_][\w.\[\]]*\s*[-+*/]?=|[}])/.test(token)) return line;
  for (let l = line - 1; l >= 1; l--) {
    const code = lines[l - 1]!.replace(/\/\/.*$/, '').trim();
    if (code) return l;
  }
  return line;
}

/** 1-based line of the first match of `re` in `source` (0 when absent). */
function lineOf(source: string, re: RegExp): number {
  const m = re.exec(source);
  return m ? source.slice(0, m.index).split('\n').length : 0;
}

/** wgsl_reflect's type names (`array<vec4f, 0>` for a runtime-sized array) as WGSL source spells them. */
const wgslType = (t: string) => t.replace(/,\s*0>/g, '>').replace(/\bvec([234])([fiu])\b/g, (_, n: string, s: string) => `vec${n}<${s}32>`).replace(/\bmat(\d)x(\d)f\b/g, 'mat$1x$2<f32>').replace(/\s/g, '');

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** What our contract kernel for `op` declares: bindings, `Params` fields (name → WGSL type) and overrides. */
interface Contract {
  kernel: string;
  bindings: readonly ReflectedBinding[];
  fields: Map<string, string>;
  overrides: readonly string[];
}

const contracts = new Map<BenchOp, Contract>();

/** Read once per op: the bench asks for the bindings on every dispatch it records. */
export function contractOf(op: BenchOp): Contract {
  let c = contracts.get(op);
  if (!c) contracts.set(op, (c = readContract(op)));
  return c;
}

function readContract(op: BenchOp): Contract {
  const entry = kernelEntry(OP_KERNELS[op].contract);
  const r = reflectedKernel(entry);
  const fields = new Map<string, string>();
  const src = kernelSource(entry);
  const struct = /struct\s+Params\s*\{([\s\S]*?)\n\}/.exec(src)![1]!;
  for (const name of r.uniforms.get('params')!.fields.keys()) {
    fields.set(name, new RegExp(`\\b${escape(name)}\\s*:\\s*([^,\\n]+?)\\s*,`).exec(struct)![1]!);
  }
  return { kernel: entry.name, bindings: r.bindings, fields, overrides: r.overrides };
}

/**
 * Reflect `source` and check it against `op`'s contract. Every refusal is one line:
 * `<label>:<line>: <what is wrong> (<what the contract says>)`.
 */
export function checkUserKernel(op: BenchOp, source: string, label: string): UserKernel {
  let expanded: ExpandedSource;
  try {
    expanded = expandIncludes(source, label);
  } catch (e) {
    throw new EffnetError('USER_KERNEL', (e as Error).message.replace(/ \(the library: .*\)$/, ' (kernels/lib/*.wgsl of effnet-webgpu may be included)'));
  }
  // A line past the user's own text is in one of our library files they included.
  const where = (line: number): string => {
    const lib = [...expanded.libraries].reverse().find((l) => line >= l.firstLine);
    return line > expanded.ownLines && lib ? `${label}: in ${lib.file}:${line - lib.firstLine + 1}` : `${label}:${line}`;
  };
  const fail: (line: number, why: string) => never = (line, why) => {
    throw new EffnetError('USER_KERNEL', `${where(line)}: ${why}`);
  };
  const contract = contractOf(op);
  const code = expanded.code;
  let reflected: ReflectedKernel;
  try {
    reflected = reflectKernel(code, label);
  } catch (e) {
    // wgsl_reflect ends its parse errors with ".. Line: N".
    const msg = (e as Error).message;
    const m = /Line: (\d+)/.exec(msg);
    const why = msg.replace(/^kernel '[^']*': /, '').replace(/\.*\s*Line: \d+\s*$/, '');
    return fail(m ? parseErrorLine(code, Number(m[1]), why) : 0, why);
  }
  if (!reflected.entryPoints.includes('main')) fail(lineOf(code, /@compute/), `no compute entry point 'main' (found: ${reflected.entryPoints.join(', ') || 'none'})`);

  const declLine = (name: string) => lineOf(code, new RegExp(`var\\s*<[^>]*>\\s*${escape(name)}\\s*:`));
  const want = contract.bindings;
  for (const b of reflected.bindings) {
    const expected = want.find((w) => w.name === b.name);
    if (!expected) fail(declLine(b.name), `binding '${b.name}' is not part of the ${op} contract (bindings: ${want.map((w) => w.name).join(', ')})`);
  }
  for (const w of want) {
    const b = reflected.bindings.find((x) => x.name === w.name);
    const decl = w.kind === 'uniform' ? `var<uniform> ${w.name}` : `var<storage, ${w.kind === 'storage' ? 'read_write' : 'read'}> ${w.name}: ${wgslType(w.type)}`;
    if (!b) fail(lineOf(code, /@group\s*\(/) || 1, `missing binding '${w.name}' (the ${op} contract declares @group(0) @binding(${w.binding}) ${decl})`);
    const line = declLine(w.name);
    if (b.group !== 0 || b.binding !== w.binding) fail(line, `binding '${w.name}' is @group(${b.group}) @binding(${b.binding}), the ${op} contract has @group(0) @binding(${w.binding})`);
    if (b.kind !== w.kind) fail(line, `binding '${w.name}' is ${b.kind}, the ${op} contract has ${w.kind} (${decl})`);
    if (w.kind !== 'uniform' && wgslType(b.type) !== wgslType(w.type)) fail(line, `binding '${w.name}' has type ${wgslType(b.type)}, the ${op} contract has ${wgslType(w.type)}`);
  }

  const uniformName = want.find((w) => w.kind === 'uniform')!.name;
  const uniform = reflected.uniforms.get(uniformName)!;
  const structBody = new RegExp(`struct\\s+${escape(uniform.structName)}\\s*\\{`).exec(code);
  const fieldLine = (name: string) => {
    const at = structBody ? structBody.index : 0;
    const rel = lineOf(code.slice(at), new RegExp(`\\b${escape(name)}\\s*:`));
    return rel ? code.slice(0, at).split('\n').length + rel - 1 : 0;
  };
  for (const [name, f] of uniform.fields) {
    const type = contract.fields.get(name);
    if (type === undefined) fail(fieldLine(name), `uniform field '${name}' does not exist in the ${op} contract's Params (fields: ${[...contract.fields.keys()].join(', ')})`);
    const mine = f.width === 1 ? f.scalar : `vec${f.width}<${f.scalar}>`;
    const theirs = type.replace(/^vec([234])([uif])$/, (_, n: string, s: string) => `vec${n}<${s}32>`);
    if (mine !== theirs) fail(fieldLine(name), `uniform field '${name}' is ${mine}, the ${op} contract's Params has ${type}`);
  }

  const header = headerLine(source, 'Dispatch');
  if (!header) fail(1, `no '// Dispatch: <workgroups>' header line (e.g. '// Dispatch: ceil(count / WG)', over Params fields, our overrides ${contract.overrides.join(', ')} and overrides of its own with a default)`);
  const { text, line: dispatchLine } = header!;
  let dispatch: Expression;
  try {
    dispatch = parseExpression(text);
  } catch (e) {
    return fail(dispatchLine, `Dispatch: ${(e as Error).message} in '${text}'`);
  }
  // Its own overrides keep their WGSL defaults (the tool sets only ours), so the count can be evaluated.
  for (const name of dispatch.names) {
    if (contract.fields.has(name) || contract.overrides.includes(name) || reflected.overrideDefaults.has(name)) continue;
    const own = reflected.overrides.includes(name) ? `an override of its own without a default` : `neither a ${op} Params field nor an override`;
    fail(dispatchLine, `Dispatch: '${name}' is ${own} (it may read ${[...contract.fields.keys(), ...contract.overrides].join(', ')} and overrides of its own with a default)`);
  }
  return {
    op,
    label,
    source: code,
    reflected,
    uniform,
    sharedOverrides: reflected.overrides.filter((o) => contract.overrides.includes(o)),
    dispatch,
  };
}
