/**
 * Parity check against a reference dump (torchvision fixtures: `input`, `features.i`, `logits`; the
 * TF.js dump: NHWC `input` and `probabilities`). Runs wherever the model runs (Node or a browser).
 */
import { EffnetError } from './errors.js';
import type { SafetensorsFile } from './safetensors.js';
import type { Model } from './runtime/model.js';
import { MODEL_TOLERANCE } from './tolerance.js';

export interface ErrorStats {
  maxAbsErr: number;
  relL2: number;
}

export interface VerifyReport {
  arch: string;
  batch: number;
  stages: ({ name: string } & ErrorStats)[];
  logits?: ErrorStats;
  probabilities?: ErrorStats & { top1Agree: number; images: number };
  /** relL2 bound every stage and the logits must meet; probabilities' max |Δ| must meet `probAbs`. */
  tolerance: { relL2: number; probAbs: number };
  pass: boolean;
}

/** relL2 = ‖got − want‖₂ / ‖want‖₂, accumulated in float64. */
export function errorStats(got: ArrayLike<number>, want: ArrayLike<number>): ErrorStats {
  if (got.length !== want.length) throw new EffnetError('INPUT', `size mismatch: ${got.length} vs reference ${want.length}`);
  let num = 0;
  let den = 0;
  let maxAbsErr = 0;
  for (let i = 0; i < got.length; i++) {
    const d = got[i]! - want[i]!;
    num += d * d;
    den += want[i]! * want[i]!;
    const a = Math.abs(d);
    if (!(a <= maxAbsErr)) maxAbsErr = a;
  }
  return { maxAbsErr, relL2: Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30) };
}

/** Checks the tuned schedule (what every run takes once compiled), or with `tier: 'quick'` the quick-start one. */
export async function verifyModel(
  model: Model,
  io: SafetensorsFile,
  tol: VerifyReport['tolerance'] = MODEL_TOLERANCE,
  tier: 'tuned' | 'quick' = 'tuned',
): Promise<VerifyReport> {
  const input = io.get('input');
  const [n, a, , c] = input.shape as [number, number, number, number];
  const layout = c === 3 && a !== 3 ? 'NHWC' : 'NCHW';
  const tensor = { data: input.f32(), shape: input.shape, layout } as const;
  const report: VerifyReport = { arch: model.spec.name, batch: n, stages: [], tolerance: tol, pass: true };
  if (io.has('probabilities')) {
    const probs = await model.run(tensor, { probabilities: true, tier });
    const want = io.get('probabilities').f32();
    const k = want.length / n;
    let agree = 0;
    for (let i = 0; i < n; i++) if (argmax(probs, i * k, k) === argmax(want, i * k, k)) agree++;
    report.probabilities = { ...errorStats(probs, want), top1Agree: agree, images: n };
    report.pass &&= report.probabilities.maxAbsErr <= tol.probAbs && agree === n;
  }
  if (io.has('logits')) {
    const { logits, stages } = await model.runStages(tensor, { tier });
    for (const s of stages) {
      if (!io.has(s.name)) continue;
      const st = { name: s.name, ...errorStats(s.data, io.get(s.name).f32()) };
      report.stages.push(st);
      report.pass &&= st.relL2 <= tol.relL2;
    }
    report.logits = errorStats(logits, io.get('logits').f32());
    report.pass &&= report.logits.relL2 <= tol.relL2;
  }
  if (!report.logits && !report.probabilities) throw new EffnetError('INPUT', "reference dump has neither 'logits' nor 'probabilities'");
  return report;
}

function argmax(x: ArrayLike<number>, off: number, k: number): number {
  let best = off;
  for (let i = off + 1; i < off + k; i++) if (x[i]! > x[best]!) best = i;
  return best - off;
}
