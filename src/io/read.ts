/**
 * The one reading policy for bytes that come from outside the engine (a path or a URL): regular files only (a
 * FIFO, device or directory is refused at once, never waited on), never more than a stated cap (a file's size is
 * checked before reading, a body's Content-Length before streaming and its bytes as they arrive), an inactivity
 * timeout on network reads (no byte for `timeoutMs` ends the read), the caller's AbortSignal honoured, a
 * redirect to another origin refused, progress that never reports more than its total, and errors that name the
 * source and the reason but quote none of its content.
 */
import { isNode } from '../env.js';
import { EffnetError } from '../errors.js';

export interface ReadPolicy {
  /** What the bytes are, for messages: 'tuning', 'weights', an image's name. */
  what: string;
  /** The most bytes to read; a longer file or body is refused. */
  maxBytes: number;
  /** No byte for this long ends a network read with an IO error (default DEFAULT_TIMEOUT_MS; 0: no limit). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called as bytes arrive; `loaded` never exceeds `total`. */
  onProgress?: (p: { loaded: number; total?: number }) => void;
}

/** How long a network read may go without a byte before it is given up. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Reads go in chunks of this size, so progress is reported and an abort is noticed at least this often. */
const CHUNK = 4 << 20;

/** A URL when `where` is one (any string in a browser, resolved against the page), else undefined (a Node path). */
export function urlOf(where: string | URL): URL | undefined {
  if (where instanceof URL) return where;
  if (/^(https?|file):/i.test(where)) return new URL(where);
  if (!isNode) return new URL(where, typeof location === 'undefined' ? undefined : location.href);
  return undefined;
}

const fmtBytes = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${n} bytes`);

/** Every byte of `where` under `policy`. */
export async function readAll(where: string | URL, policy: ReadPolicy): Promise<Uint8Array> {
  const name = String(where);
  const fail = (why: string, cause?: unknown) => new EffnetError('IO', `cannot read ${policy.what} from ${name}: ${why}`, cause === undefined ? undefined : { cause });
  const aborted = (cause?: unknown) => new EffnetError('ABORTED', `reading ${policy.what} from ${name} was aborted`, { cause: cause ?? policy.signal?.reason });
  if (policy.signal?.aborted) throw aborted();
  const url = urlOf(where);
  try {
    if (!url || url.protocol === 'file:') {
      if (!isNode) throw fail('a file path needs Node; in a browser give a URL');
      const { fileURLToPath } = await import('node:url');
      return await readFile(url ? fileURLToPath(url) : (where as string), policy, fail, aborted);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fail(`the ${url.protocol} scheme is not read (http, https and file are)`);
    return await readUrl(url, policy, fail, aborted);
  } catch (e) {
    if (e instanceof EffnetError) throw e;
    if (policy.signal?.aborted) throw aborted(e);
    throw fail(describeError(e), e);
  }
}

type Fail = (why: string, cause?: unknown) => EffnetError;

async function readFile(path: string, p: ReadPolicy, fail: Fail, aborted: (cause?: unknown) => EffnetError): Promise<Uint8Array> {
  const { open } = await import('node:fs/promises');
  const { constants } = await import('node:fs');
  // O_NONBLOCK: opening a FIFO must not wait for a writer; the handle is then checked to be a regular file.
  const fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw fail('it is a directory');
    if (!st.isFile()) throw fail('it is not a regular file (a device, FIFO or socket)');
    if (st.size > p.maxBytes) throw fail(`it is ${fmtBytes(st.size)}, more than the ${fmtBytes(p.maxBytes)} a ${p.what} file may have`);
    const out = new Uint8Array(st.size);
    let got = 0;
    while (got < st.size) {
      if (p.signal?.aborted) throw aborted();
      const { bytesRead } = await fh.read(out, got, Math.min(CHUNK, st.size - got), got);
      if (bytesRead === 0) break;
      got += bytesRead;
      p.onProgress?.({ loaded: got, total: st.size });
    }
    return out.subarray(0, got);
  } finally {
    await fh.close();
  }
}

async function readUrl(url: URL, p: ReadPolicy, fail: Fail, aborted: (cause?: unknown) => EffnetError): Promise<Uint8Array> {
  const timeoutMs = p.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs >= 0) || !Number.isFinite(timeoutMs)) throw new EffnetError('INPUT', `timeoutMs must be a finite number of milliseconds ≥ 0, got ${String(p.timeoutMs)}`);
  const ctl = new AbortController();
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Restarted by every byte that arrives: the limit is on silence, not on the whole transfer.
  const arm = () => {
    if (timer !== undefined) clearTimeout(timer);
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        ctl.abort(new Error('timeout'));
      }, timeoutMs);
    }
  };
  const onAbort = () => ctl.abort(p.signal!.reason);
  p.signal?.addEventListener('abort', onAbort, { once: true });
  const stopped = (e: unknown): EffnetError =>
    timedOut ? fail(`no data for ${timeoutMs / 1000} s (timeoutMs)`, e) : p.signal?.aborted ? aborted(e) : e instanceof EffnetError ? e : fail(describeError(e), e);
  arm();
  try {
    let r: Response;
    try {
      r = await fetch(url, { signal: ctl.signal });
    } catch (e) {
      throw stopped(e);
    }
    if (r.redirected && new URL(r.url).origin !== url.origin) {
      void r.body?.cancel().catch(() => undefined);
      throw fail(`it redirects to another origin (${new URL(r.url).origin}), which is not followed`);
    }
    if (!r.ok) {
      void r.body?.cancel().catch(() => undefined);
      throw fail(`HTTP ${r.status}`);
    }
    const declared = Number(r.headers.get('content-length') ?? NaN);
    const total = Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined;
    if (total !== undefined && total > p.maxBytes) {
      void r.body?.cancel().catch(() => undefined);
      throw fail(`it is ${fmtBytes(total)}, more than the ${fmtBytes(p.maxBytes)} a ${p.what} file may have`);
    }
    if (!r.body) return new Uint8Array(await r.arrayBuffer());
    const reader = r.body.getReader();
    // Pre-sized by a declared length only up to the cap and 64 MiB: a hostile header cannot make it allocate.
    let buf = new Uint8Array(Math.min(total ?? 1 << 16, p.maxBytes, 64 << 20) || 1 << 10);
    let len = 0;
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw stopped(e);
      }
      if (chunk.done) break;
      arm();
      const v = chunk.value;
      if (len + v.length > p.maxBytes) {
        void reader.cancel().catch(() => undefined);
        throw fail(`it is longer than the ${fmtBytes(p.maxBytes)} a ${p.what} file may have (stopped reading)`);
      }
      if (len + v.length > buf.length) {
        const grown = new Uint8Array(Math.min(p.maxBytes, Math.max(buf.length * 2, len + v.length)));
        grown.set(buf.subarray(0, len));
        buf = grown;
      }
      buf.set(v, len);
      len += v.length;
      // A body longer than its Content-Length reports no total rather than loaded > total.
      p.onProgress?.(total !== undefined && len <= total ? { loaded: len, total } : { loaded: len });
    }
    return buf.subarray(0, len);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    p.signal?.removeEventListener('abort', onAbort);
  }
}

/** A Node or fetch error as a short reason: the errno's meaning where there is one. */
function describeError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  const cause = (e as { cause?: { message?: string } } | undefined)?.cause?.message;
  return [(e as Error | undefined)?.message ?? String(e), cause].filter(Boolean).join(': ');
}
