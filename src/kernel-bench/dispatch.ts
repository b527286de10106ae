/**
 * A user kernel's `// Dispatch: <expression>` header line: its linear workgroup count as arithmetic over the
 * op's uniform fields and override values, e.g. `ceil(count / 64)` or `ceil(N * Ho * Wo * C4 / WG)`.
 * Grammar: numbers, names, + − * / (real division), parentheses, and ceil, floor, min, max. Parsed once, when
 * the kernel is checked, so an unknown name is reported before anything runs; evaluated per launch.
 */

export type DispatchValues = Readonly<Record<string, number>>;

export interface DispatchFormula {
  readonly text: string;
  /** Every name the expression reads. */
  readonly names: readonly string[];
  evaluate(values: DispatchValues): number;
}

type Node = (v: DispatchValues) => number;

const FUNCTIONS: Readonly<Record<string, { arity: number; fn: (...a: number[]) => number }>> = {
  ceil: { arity: 1, fn: Math.ceil },
  floor: { arity: 1, fn: Math.floor },
  min: { arity: 2, fn: Math.min },
  max: { arity: 2, fn: Math.max },
};

const TOKEN = /\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(.))/y;

/** Parse `text`; a syntax error throws an Error whose message says what was expected where. */
export function parseDispatch(text: string): DispatchFormula {
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
  const sum = (): Node => {
    let left = product();
    while (peek() === '+' || peek() === '-') {
      const op = tokens[at++];
      const [l, r] = [left, product()];
      left = op === '+' ? (v) => l(v) + r(v) : (v) => l(v) - r(v);
    }
    return left;
  };
  const product = (): Node => {
    let left = unary();
    while (peek() === '*' || peek() === '/') {
      const op = tokens[at++];
      const [l, r] = [left, unary()];
      left = op === '*' ? (v) => l(v) * r(v) : (v) => l(v) / r(v);
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
      const e = sum();
      expect(')');
      return e;
    }
    if (/^\d/.test(t)) {
      const n = Number(t);
      return () => n;
    }
    if (/^[A-Za-z_]/.test(t)) {
      const f = FUNCTIONS[t];
      if (f) {
        expect('(');
        const args = [sum()];
        while (args.length < f.arity) {
          expect(',');
          args.push(sum());
        }
        expect(')');
        return (v) => f.fn(...args.map((a) => a(v)));
      }
      names.add(t);
      return (v) => v[t]!;
    }
    throw new Error(`unexpected '${t}'`);
  };
  const root = sum();
  if (at < tokens.length) throw new Error(`unexpected '${tokens[at]}'`);
  return { text, names: [...names], evaluate: root };
}
