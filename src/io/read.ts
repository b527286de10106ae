/**
 * The one reading policy for bytes that come from outside the engine (a path, a URL, or a stream the caller
 * holds): regular files only (a FIFO, device or directory is refused at once, never waited on), never more than
 * a stated cap (a file's size is checked before reading, a body's Content-Length before streaming and its bytes
 * as they arrive; a format may declare its size in its first bytes, which then caps the read instead), an
 * inactivity timeout on network reads and streams (no byte for `timeoutMs` ends the read), the caller's
 * AbortSignal honoured, a redirect to another origin refused, progress that never reports more than its total,
 * and errors that name the source and the reason but quote none of its content.
 */
import { isNode } from '../env.js';
import { EffnetError } from '../errors.js';
import type * as web from '../platform-types.js';

export interface ReadPolicy {
  /** What the bytes are, for messages: 'tuning', 'weights', 'image'. */
  what: string;
  /** The most bytes to read where the bytes declare no size; a longer file or body is refused. */
  maxBytes: number;
  /** The option that sets `maxBytes`, named in the error that refuses a read for it ('maxBytes'). */
  maxOption?: string;
  /**
   * Set when `maxBytes` is a size the source declared (a TF.js manifest's) rather than a limit on the kind of
   * file: errors then give exact byte counts and this reason ("the manifest describes …").
   */
  maxWhy?: string;
  /**
   * The size the bytes declare at their start (a safetensors header gives its file's size), which caps the read
   * in place of `maxBytes`: called with the head read so far, it returns that cap, how many bytes from the start
   * it needs to tell, or undefined for none.
   */
  declaredCap?: (head: Uint8Array) => DeclaredCap | { need: number } | undefined;
  /** The most a declared size may be (default `maxBytes`): a format that states its size may pass `maxBytes`. */
  maxDeclaredBytes?: number;
  /** No byte for this long ends a network read or a stream with an IO error (default DEFAULT_TIMEOUT_MS; 0: no limit). */
  timeoutMs?: number;
  signal?: web.AbortSignal;
  /**
   * A URL prefix the response must still be under once redirects resolve (a TF.js shard stays inside its model's
   * folder), checked where the redirects land, before any byte of the body is read.
   */
  within?: string;
  /** Called as bytes arrive; `loaded` never exceeds `total`. */
  onProgress?: (p: { loaded: number; total?: number }) => void;
}

/** A size the bytes declare, and what declared it (for the error: "its safetensors header describes"). */
export interface DeclaredCap {
  bytes: number;
  why: string;
}

/** How long a network read or a stream may go without a byte before it is given up. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Reads go in chunks of this size, so progress is reported and an abort is noticed at least this often. */
const CHUNK = 4 << 20;

/**
 * A body of no declared length is held in blocks of up to this size, never copied to grow: an endless one peaks
 * at its cap (a doubling buffer would hold 1.5 times it while copying), and the blocks are joined once at the end.
 */
const BLOCK = 64 << 20;

/** A URL when `where` is one (any string in a browser, resolved against the page), else undefined (a Node path). */
export function urlOf(where: string | web.URL): web.URL | undefined {
  if (where instanceof URL) return where;
  if (/^(https?|file):/i.test(where)) return new URL(where);
  if (!isNode) return new URL(where, typeof location === 'undefined' ? undefined : location.href);
  return undefined;
}

/** Node: whether `path` names a directory (false for anything else, or a path that cannot be looked at). */
export async function isDirectory(path: string): Promise<boolean> {
  const { stat } = await import('node:fs/promises');
  return stat(path).then((s) => s.isDirectory(), () => false);
}

const fmtBytes = (n: number) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${n} bytes`);

/** The cap in force and the errors a read raises, all naming the source. */
interface Reading {
  p: ReadPolicy;
  fail: (why: string, cause?: unknown) => EffnetError;
  aborted: (cause?: unknown) => EffnetError;
  /** `size` bytes are more than `cap` allows. */
  tooBig: (size: number, cap: Cap) => EffnetError;
  /** The bytes ran past `cap` while streaming. */
  tooLong: (cap: Cap) => EffnetError;
  /** The bytes declare a size past `maxDeclaredBytes`. */
  declaredTooBig: (cap: DeclaredCap) => EffnetError;
}

/** A cap with its reason when a source declared it; without one it is the policy's limit on the kind of file. */
type Cap = { bytes: number; why?: string };

function reading(name: string, p: ReadPolicy): Reading {
  const fail = (why: string, cause?: unknown) => new EffnetError('IO', `cannot read ${p.what} from ${name}: ${why}`, cause === undefined ? undefined : { cause });
  const limit = (c: Cap) => `the ${fmtBytes(c.bytes)} a ${p.what} file may have`;
  const option = p.maxOption ? `${p.maxOption}; ` : '';
  return {
    p,
    fail,
    aborted: (cause?: unknown) => new EffnetError('ABORTED', `reading ${p.what} from ${name} was aborted`, { cause: cause ?? p.signal?.reason }),
    tooBig: (size, c) => fail(c.why ? `it is ${size} bytes but ${c.why} ${c.bytes} bytes` : `it is ${fmtBytes(size)}, more than ${limit(c)}${p.maxOption ? ` (${p.maxOption})` : ''}`),
    tooLong: (c) => fail(c.why ? `the data is longer than the ${c.bytes} bytes ${c.why} (stopped reading)` : `it is longer than ${limit(c)} (${option}stopped reading)`),
    declaredTooBig: (c) => fail(`${c.why} ${c.bytes} bytes, more than ${limit(outerCap(p))}${p.maxOption ? ` (${p.maxOption})` : ''}`),
  };
}

const policyCap = (p: ReadPolicy): Cap => ({ bytes: p.maxBytes, ...(p.maxWhy === undefined ? {} : { why: p.maxWhy }) });

/** The most any read under `p` may take: where the bytes may declare their size, the most that size may be. */
const outerCap = (p: ReadPolicy): Cap => (p.declaredCap && p.maxDeclaredBytes !== undefined && p.maxDeclaredBytes > p.maxBytes ? { bytes: p.maxDeclaredBytes } : policyCap(p));

/** Every byte of `where` under `policy`. */
export async function readAll(where: string | web.URL, policy: ReadPolicy): Promise<Uint8Array> {
  const r = reading(String(where), policy);
  if (policy.signal?.aborted) throw r.aborted();
  const url = urlOf(where);
  try {
    if (!url || url.protocol === 'file:') {
      if (!isNode) throw r.fail('a file path needs Node; in a browser give a URL');
      const { fileURLToPath } = await import('node:url');
      return await readFile(url ? fileURLToPath(url) : (where as string), r);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw r.fail(`the ${url.protocol} scheme is not read (http, https and file are)`);
    return await readUrl(url, r);
  } catch (e) {
    if (e instanceof EffnetError) throw e;
    if (policy.signal?.aborted) throw r.aborted(e);
    throw r.fail(describeError(e), e);
  }
}

/**
 * A byte stream the caller holds (a Blob's, a fetch Response's body) under `policy`, `name` naming it in errors
 * and `total` its size when known. A stream silent for `timeoutMs` is cancelled, as a silent URL is: a stalled
 * server behind a Response would otherwise hold the load forever.
 */
export async function readStream(body: web.ReadableByteStream, name: string, policy: ReadPolicy, total?: number): Promise<Uint8Array> {
  const r = reading(name, policy);
  if (policy.signal?.aborted) throw r.aborted();
  // The timer is made first: a bad timeoutMs is refused before the caller's stream is locked.
  const idle = inactivity(r, () => cancel());
  const reader = body.getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  policy.signal?.addEventListener('abort', cancel, { once: true });
  try {
    return await readBody(reader, total, r, idle);
  } finally {
    idle.stop();
    policy.signal?.removeEventListener('abort', cancel);
  }
}

async function readFile(path: string, r: Reading): Promise<Uint8Array> {
  const { p } = r;
  const { open } = await import('node:fs/promises');
  const { constants } = await import('node:fs');
  // O_NONBLOCK: opening a FIFO must not wait for a writer; the handle is then checked to be a regular file.
  const fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw r.fail('is a directory');
    if (!st.isFile()) throw r.fail('not a regular file (a device, FIFO or socket)');
    if (st.size > outerCap(p).bytes) throw r.tooBig(st.size, outerCap(p));
    const read = async (n: number, progress: boolean) => {
      const out = new Uint8Array(n);
      let got = 0;
      while (got < n) {
        if (p.signal?.aborted) throw r.aborted();
        const { bytesRead } = await fh.read(out, got, Math.min(CHUNK, n - got), got);
        if (bytesRead === 0) break;
        got += bytesRead;
        if (progress) p.onProgress?.({ loaded: got, total: n });
      }
      return out.subarray(0, got);
    };
    if (p.declaredCap) {
      // The head, as much as the format asks for (within the file), tells the size it declares before the rest is read.
      let head = new Uint8Array(0);
      let c = p.declaredCap(head);
      while (c && 'need' in c && c.need > head.length && c.need <= st.size) c = p.declaredCap((head = await read(c.need, false)));
      const cap = c && 'bytes' in c ? c : policyCap(p);
      if (st.size > cap.bytes) throw r.tooBig(st.size, cap);
    }
    return await read(st.size, true);
  } finally {
    await fh.close();
  }
}

async function readUrl(url: URL, r: Reading): Promise<Uint8Array> {
  const { p } = r;
  const ctl = new AbortController();
  const idle = inactivity(r, () => ctl.abort(new Error('timeout')));
  const onAbort = () => ctl.abort(p.signal!.reason);
  p.signal?.addEventListener('abort', onAbort, { once: true });
  idle.arm();
  try {
    let res: Response;
    try {
      res = await fetch(url, { signal: ctl.signal });
    } catch (e) {
      throw stopped(r, idle, e);
    }
    if (res.redirected && new URL(res.url).origin !== url.origin) {
      void res.body?.cancel().catch(() => undefined);
      throw r.fail(`it redirects to another origin (${new URL(res.url).origin}), which is not followed`);
    }
    if (p.within !== undefined && !res.url.startsWith(p.within)) {
      void res.body?.cancel().catch(() => undefined);
      throw r.fail(`it redirects outside ${p.within}, which is not followed`);
    }
    if (!res.ok) {
      void res.body?.cancel().catch(() => undefined);
      throw r.fail(`HTTP ${res.status}`);
    }
    // A compressed body's Content-Length counts the compressed bytes, not the ones read here.
    const encoded = (res.headers.get('content-encoding') ?? 'identity').toLowerCase() !== 'identity';
    const declared = encoded ? NaN : Number(res.headers.get('content-length') ?? NaN);
    const total = Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined;
    if (!res.body) return new Uint8Array(await res.arrayBuffer());
    return await readBody(res.body.getReader(), total, r, idle);
  } finally {
    idle.stop();
    p.signal?.removeEventListener('abort', onAbort);
  }
}

/** A read's inactivity timer: `arm` restarts it (at the start and at every chunk); after `ms` of silence it calls `onIdle`. */
interface Idle {
  readonly ms: number;
  readonly timedOut: boolean;
  arm(): void;
  stop(): void;
}

function inactivity(r: Reading, onIdle: () => void): Idle {
  const ms = r.p.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(ms >= 0) || !Number.isFinite(ms)) throw new EffnetError('INPUT', `timeoutMs must be a finite number of milliseconds ≥ 0, got ${String(r.p.timeoutMs)}`);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const stop = () => {
    if (timer !== undefined) clearTimeout(timer);
  };
  return {
    ms,
    get timedOut() {
      return timedOut;
    },
    arm() {
      stop();
      if (ms > 0) {
        timer = setTimeout(() => {
          timedOut = true;
          onIdle();
        }, ms);
      }
    },
    stop,
  };
}

/** The error a read that ended early raises: silence past timeoutMs, the caller's abort, or `e` itself. */
function stopped(r: Reading, idle: Idle, e?: unknown): EffnetError {
  if (idle.timedOut) return r.fail(`no data for ${idle.ms / 1000} s (timeoutMs)`, e);
  if (r.p.signal?.aborted) return r.aborted(e);
  return e instanceof EffnetError ? e : r.fail(describeError(e), e);
}

/**
 * A body read chunk by chunk under the cap in force: the policy's, then the size the head declares as soon as it
 * tells. A chunk that would pass it is refused before it is taken in, and a declared total past it before any
 * byte is read. Bytes go into blocks: the first sized by the declared total up to BLOCK, then, once the body has
 * sent a BLOCK's worth (so a hostile header cannot make it allocate), one buffer of the length the body or its
 * head declares (up to the cap) that what came is moved into, so an honest body is copied no further; else more
 * blocks, joined at the end. The reader is cancelled on any error.
 */
async function readBody(reader: ReadableStreamDefaultReader<Uint8Array>, total: number | undefined, r: Reading, idle: Idle): Promise<Uint8Array> {
  const { p } = r;
  let cap = policyCap(p);
  // Bytes the declared cap still needs before it can tell; undefined once it has told (or when there is none).
  let need: number | undefined = p.declaredCap ? 0 : undefined;
  const blocks: Uint8Array[] = [];
  let buf: Uint8Array = new Uint8Array(Math.min(total ?? 1 << 16, cap.bytes, BLOCK) || 1 << 10);
  let used = 0, len = 0;
  // The body's length as its head declares it (a safetensors header), for when no total was given.
  let declared: number | undefined;
  try {
    // Until the head tells, a declared total may be as large as a declared size may be.
    const outer = outerCap(p), first = need === undefined ? cap : outer;
    if (total !== undefined && total > first.bytes) throw r.tooBig(total, first);
    idle.arm();
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw stopped(r, idle, e);
      }
      // A cancelled stream ends as if done: the abort or the silence, not the short data, is the outcome.
      if (idle.timedOut || p.signal?.aborted) throw stopped(r, idle);
      if (chunk.done) break;
      idle.arm();
      const v: unknown = chunk.value;
      // A caller's stream is typed loosely (platform-types.ts): a chunk of anything but bytes is refused, not copied.
      if (!(v instanceof Uint8Array)) throw r.fail(`the stream gave a chunk that is not a Uint8Array (${v === null || typeof v !== 'object' ? typeof v : Object.prototype.toString.call(v).slice(8, -1)})`);
      // While the head has not told, a chunk may reach as far as a declared size could; the cap is checked once it has.
      const limit = need === undefined ? cap : outer;
      if (len + v.length > limit.bytes) throw r.tooLong(limit);
      for (let at = 0; at < v.length;) {
        if (used === buf.length) {
          const length = total ?? declared;
          if (length !== undefined && length > len && len >= BLOCK) {
            buf = join(new Uint8Array(Math.min(length, limit.bytes)), blocks, buf, used);
            blocks.length = 0;
            used = len;
          } else {
            blocks.push(buf);
            buf = new Uint8Array(Math.min(BLOCK, Math.max(buf.length * 2, 1 << 16), limit.bytes - len));
            used = 0;
          }
        }
        const n = Math.min(v.length - at, buf.length - used);
        buf.set(v.subarray(at, at + n), used);
        used += n;
        len += n;
        at += n;
      }
      if (need !== undefined && len >= need) {
        const c = p.declaredCap!(blocks.length === 0 ? buf.subarray(0, used) : join(new Uint8Array(len), blocks, buf, used));
        need = c && 'need' in c ? c.need : undefined;
        if (c && 'bytes' in c) {
          if (c.bytes > outer.bytes) throw r.declaredTooBig(c);
          cap = c;
          declared = c.bytes;
        } else if (need === undefined && total !== undefined && total > cap.bytes) {
          throw r.tooBig(total, cap);
        }
      }
      if (len > cap.bytes) throw r.tooLong(cap);
      // Without a Content-Length the size the head declares (a safetensors header) is the total; a body longer
      // than its stated length reports no total rather than loaded > total.
      const known = total ?? declared;
      p.onProgress?.(known !== undefined && len <= known ? { loaded: len, total: known } : { loaded: len });
    }
  } catch (e) {
    void reader.cancel().catch(() => undefined);
    throw e;
  }
  return blocks.length === 0 ? buf.subarray(0, used) : join(new Uint8Array(len), blocks, buf, used);
}

/** `out` holding the full `blocks`, then the first `used` bytes of `last`, from its start. */
function join(out: Uint8Array, blocks: Uint8Array[], last: Uint8Array, used: number): Uint8Array {
  let at = 0;
  for (const b of blocks) {
    out.set(b, at);
    at += b.length;
  }
  out.set(last.subarray(0, used), at);
  return out;
}

/** A Node or fetch error as a short reason: the errno's meaning where there is one. */
function describeError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  const cause = (e as { cause?: { message?: string } } | undefined)?.cause?.message;
  return [(e as Error | undefined)?.message ?? String(e), cause].filter(Boolean).join(': ');
}
