/**
 * The arithmetic of kernel header lines — `// Dispatch: <expression>` (a linear workgroup count) and
 * `// Requires: <condition>` (what a tile must satisfy for a launch) — over the kernel's uniform fields and
 * override values, e.g. `ceil(count / WG)` or `SE_SCALE == 0 || TM <= HW`.
 * Grammar: numbers, names, + − * / (real division), parentheses, ceil, floor, min, max, log2; comparisons
 * (< <= > >= == !=) and && || give 1 or 0. Parsed once, so an unknown name or a syntax error is reported before
 * anything runs; evaluated per launch. Nothing in it is ever handed to `eval`.
 */

export type ExpressionValues = Readonly<Record<string, number>>;

export interface Expression {
  readonly text: string;
  /** Every name the expression reads. */
  readonly names: readonly string[];
  /** The value; a name missing from `values` is an Error naming it. */
  evaluate(values: ExpressionValues): number;
}

type Node = (v: ExpressionValues) => number;

const FUNCTIONS: Readonly<Record<string, { arity: number; fn: (...a: number[]) => number }>> = {
  ceil: { arity: 1, fn: Math.ceil },
  floor: { arity: 1, fn: Math.floor },
  min: { arity: 2, fn: Math.min },
  max: { arity: 2, fn: Math.max },
  // A tree reduction's depth (`// Serial:` lines).
  log2: { arity: 1, fn: Math.log2 },
};

const TOKEN = /\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(<=|>=|==|!=|&&|\|\||.))/y;

/** Binary operators by precedence, loosest first. */
const LEVELS: readonly (Readonly<Record<string, (a: number, b: number) => number>>)[] = [
  { '||': (a, b) => (a !== 0 || b !== 0 ? 1 : 0) },
  { '&&': (a, b) => (a !== 0 && b !== 0 ? 1 : 0) },
  { '==': (a, b) => (a === b ? 1 : 0), '!=': (a, b) => (a !== b ? 1 : 0) },
  { '<': (a, b) => (a < b ? 1 : 0), '<=': (a, b) => (a <= b ? 1 : 0), '>': (a, b) => (a > b ? 1 : 0), '>=': (a, b) => (a >= b ? 1 : 0) },
  { '+': (a, b) => a + b, '-': (a, b) => a - b },
  { '*': (a, b) => a * b, '/': (a, b) => a / b },
];

/** Parse `text`; a syntax error throws an Error whose message says what was expected where. */
export function parseExpression(text: string): Expression {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(text); m && TOKEN.lastIndex <= text.length && m[0].trim() !== ''; m = TOKEN.exec(text)) tokens.push(m[1] ?? m[2] ?? m[3]!);
  const names = new Set<string>();
  let at = 0;
  const peek = () => tokens[at];
  const expect = (t: string) => {
    if (tokens[at] !== t) throw new Error(`expected '${t}' ${tokens[at] === undefined ? 'at the end' : `before '${tokens[at]}'`}`);
    at++;
  };
  const binary = (level: number): Node => {
    if (level === LEVELS.length) return unary();
    const ops = LEVELS[level]!;
    let left = binary(level + 1);
    while (peek() !== undefined && Object.hasOwn(ops, peek()!)) {
      const fn = ops[tokens[at++]!]!;
      const [l, r] = [left, binary(level + 1)];
      left = (v) => fn(l(v), r(v));
    }
    return left;
  };
  const unary = (): Node => {
    if (peek() === '-') {
      at++;
      const e = unary();
      return (v) => -e(v);
    }
    return atom();
  };
  const atom = (): Node => {
    const t = tokens[at++];
    if (t === undefined) throw new Error('expression ends early');
    if (t === '(') {
      const e = binary(0);
      expect(')');
      return e;
    }
    if (/^\d/.test(t)) {
      const n = Number(t);
      return () => n;
    }
    if (/^[A-Za-z_]/.test(t)) {
      const f = Object.hasOwn(FUNCTIONS, t) ? FUNCTIONS[t] : undefined;
      if (f) {
        expect('(');
        const args = [binary(0)];
        while (args.length < f.arity) {
          expect(',');
          args.push(binary(0));
        }
        expect(')');
        return (v) => f.fn(...args.map((a) => a(v)));
      }
      names.add(t);
      return (v) => {
        if (!Object.hasOwn(v, t)) throw new Error(`no value for '${t}'`);
        return v[t]!;
      };
    }
    throw new Error(`unexpected '${t}'`);
  };
  const root = binary(0);
  if (at < tokens.length) throw new Error(`unexpected '${tokens[at]}'`);
  return { text, names: [...names], evaluate: root };
}

/** The text and 1-based line of a kernel's first `// <key>: <text>` header line, if it has one. */
export function headerLine(source: string, key: string): { text: string; line: number } | undefined {
  const m = new RegExp(`^[ \\t]*//[ \\t]*${key}:[ \\t]*(.*)$`, 'm').exec(source);
  return m ? { text: m[1]!.trim(), line: source.slice(0, m.index).split('\n').length } : undefined;
}
