/**
 * AbortSignal handling shared by loads and runs: an aborted call rejects with an `ABORTED` EffnetError naming
 * what was cut short, carrying the signal's reason as its cause.
 */
import { EffnetError } from './errors.js';

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new EffnetError('ABORTED', `${what} was aborted`, { cause: signal.reason });
}

/**
 * `work`, or an ABORTED rejection as soon as `signal` fires (the work itself goes on; its result is dropped).
 * Without a signal it is `work` itself.
 */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new EffnetError('ABORTED', `${what} was aborted`, { cause: signal.reason }));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
