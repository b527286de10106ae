/**
 * A TensorFlow.js graph model's model.json: its types, and the one check of the untrusted file. Every field the
 * loader reads is checked here, so a malformed file is a WEIGHTS error naming the field instead of a TypeError or
 * RangeError from deep inside the walk; shard paths are checked to stay inside the model's folder.
 */
import { EffnetError } from '../errors.js';

export interface TfjsNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfjsAttr>;
}

type TfjsAttr = { s?: string; b?: boolean; i?: string | number; f?: number; list?: { s?: string[]; i?: (string | number)[] } };

export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number; original_dtype?: string };
}

export interface TfjsGraphModel {
  format?: string;
  modelTopology: { node: TfjsNode[] };
  weightsManifest: { paths: string[]; weights: TfjsWeightSpec[] }[];
}

/** A WEIGHTS error naming the model. */
export const tfjsFail = (source: string, msg: string): never => {
  throw new EffnetError('WEIGHTS', `${source}: ${msg}`);
};

/** `x` as a TF.js graph model, or a WEIGHTS error naming the first malformed field. */
export function checkTfjsModelJson(x: unknown, source: string): TfjsGraphModel {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);
  const bad = (field: string, v: unknown, want: string): never => tfjsFail(source, `model.json field '${field}' is ${kind(v)}, expected ${want}`);
  if (!isObject(x)) return bad('(top level)', x, 'an object with modelTopology and weightsManifest (a TensorFlow.js graph model)');
  const topo = x.modelTopology;
  if (!isObject(topo)) bad('modelTopology', topo, 'an object');
  const nodes = (topo as Record<string, unknown>).node;
  if (!Array.isArray(nodes)) bad('modelTopology.node', nodes, 'an array');
  (nodes as unknown[]).forEach((n, i) => {
    const at = `modelTopology.node[${i}]`;
    if (!isObject(n)) return bad(at, n, 'an object');
    for (const key of ['name', 'op'] as const) if (typeof n[key] !== 'string') bad(`${at}.${key}`, n[key], 'a string');
    if (n.input !== undefined && !(Array.isArray(n.input) && n.input.every((v) => typeof v === 'string'))) bad(`${at}.input`, n.input, 'an array of strings');
    if (n.attr !== undefined && !isObject(n.attr)) bad(`${at}.attr`, n.attr, 'an object');
  });
  const manifest = x.weightsManifest;
  if (!Array.isArray(manifest)) bad('weightsManifest', manifest, 'an array');
  if ((manifest as unknown[]).length === 0) tfjsFail(source, "model.json field 'weightsManifest' is empty (no weight groups)");
  (manifest as unknown[]).forEach((g, i) => {
    const at = `weightsManifest[${i}]`;
    if (!isObject(g)) return bad(at, g, 'an object');
    if (!Array.isArray(g.paths)) bad(`${at}.paths`, g.paths, 'an array of strings');
    (g.paths as unknown[]).forEach((p, j) => typeof p === 'string' || bad(`${at}.paths[${j}]`, p, 'a string'));
    if (!Array.isArray(g.weights)) bad(`${at}.weights`, g.weights, 'an array');
    (g.weights as unknown[]).forEach((w, j) => {
      const wat = `${at}.weights[${j}]`;
      if (!isObject(w)) return bad(wat, w, 'an object');
      for (const key of ['name', 'dtype'] as const) if (typeof w[key] !== 'string') bad(`${wat}.${key}`, w[key], 'a string');
      if (!Array.isArray(w.shape)) bad(`${wat}.shape`, w.shape, 'an array of non-negative integers');
      let numel = 1;
      (w.shape as unknown[]).forEach((d, k) => {
        if (!(typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
          tfjsFail(source, `model.json field '${wat}.shape[${k}]' of weight '${String(w.name)}' is ${JSON.stringify(d) ?? kind(d)}, expected a non-negative integer`);
        }
        numel *= d as number;
      });
      if (!Number.isSafeInteger(numel)) tfjsFail(source, `model.json field '${wat}.shape' [${String(w.shape)}] has more elements than can be addressed`);
      if (w.quantization !== undefined) {
        if (!isObject(w.quantization)) bad(`${wat}.quantization`, w.quantization, 'an object');
        const q = w.quantization as Record<string, unknown>;
        if (typeof q.dtype !== 'string') bad(`${wat}.quantization.dtype`, q.dtype, 'a string');
      }
    });
  });
  return x as unknown as TfjsGraphModel;
}

/**
 * The shard paths of every manifest group, in order. Each must stay inside the model's folder (or below its
 * URL): a relative path without `..` segments, never absolute, never a URL of its own.
 */
export function tfjsShardPaths(model: TfjsGraphModel, source: string): string[] {
  return model.weightsManifest.flatMap((g, i) =>
    g.paths.map((p, j) => {
      const segments = p.split(/[\\/]/);
      const escapes =
        p === '' || /^[\\/]/.test(p) || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(p) || segments.some((s) => s === '..' || /^%2e%2e$/i.test(s) || s.includes('\0'));
      if (escapes) tfjsFail(source, `model.json weightsManifest[${i}].paths[${j}] '${p}' is not a path inside the model's folder (absolute, a URL, or containing '..')`);
      return p;
    }),
  );
}
