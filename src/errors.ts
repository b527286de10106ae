/**
 * Every failure the engine reports is an EffnetError with a stable `code`, so callers can branch on the
 * kind of problem and users see one sentence naming it instead of a stack trace from deep inside WebGPU.
 *
 * | code              | raised by, and when                                                                     |
 * | ----------------- | --------------------------------------------------------------------------------------- |
 * | NO_WEBGPU         | gpu.ts, the Chromium harness: no WebGPU implementation (no `navigator.gpu`, no Dawn)      |
 * | NO_ADAPTER        | gpu.ts: WebGPU is there but offers no adapter                                            |
 * | MISSING_FEATURE   | gpu.ts: the adapter lacks a feature the engine needs                                     |
 * | LIMIT_EXCEEDED    | buffers.ts, kernels/, image/gpu.ts: a buffer, binding, dispatch or texture past the device's limits |
 * | DEVICE_LOST       | gpu.ts: the device was lost (driver reset, `device.destroy()` by someone else)            |
 * | GPU_VALIDATION    | gpu.ts, runtime/submit.ts: WebGPU rejected a command (an engine bug, reported as such)    |
 * | GPU_OUT_OF_MEMORY | gpu.ts: an allocation failed on the device                                               |
 * | KERNEL_REGISTRY   | kernels/registry.ts, reflect.ts, library.ts: a kernel entry disagrees with its WGSL        |
 * | UNIFORM_FIELD     | kernels/reflect.ts: a launch sets a uniform its kernel does not declare                  |
 * | SAFETENSORS       | safetensors.ts: a malformed safetensors file (header, offsets, dtype)                    |
 * | WEIGHTS           | api.ts, weights/, kernels/ packing: weights missing, mis-shaped or of another architecture |
 * | INPUT             | runtime/ (tensors, GPU buffers), api.ts, classify/verify/profile/tune.ts, image/: a bad argument or image, naming what was given |
 * | NUMERIC           | runtime/model.ts: an output went non-finite; names the first stage output that did       |
 * | MODEL_SPEC        | model/, api.ts: an unknown architecture or an invalid stage/block table                  |
 * | DISPOSED          | runtime/model.ts: a call on a disposed model, or work in flight that dispose() cancelled  |
 * | USER_KERNEL       | kernel-bench/: a user's kernel breaks its op's contract or does not compile; names file, line and field |
 * | IO                | io/read.ts (weights, images, tuning files), the CLI: a file or URL that cannot be read     |
 * | ABORTED           | io/read.ts, runtime/model.ts: the caller's AbortSignal fired during a load or a run |
 * | TUNING            | tuning/file.ts, kernels/tuning.ts: a tuning file or entry the kernels cannot take (names the entry and key) |
 * | SELF_TEST         | runtime/self-test.ts: every variant of a launch failed the on-device self-test, so no correct one is left |
 * | CPU_RUNTIME       | cpu/: the CPU backend's runtime is not installed or not configured, or failed to load or run    |
 */
export type ErrorCode =
  | 'NO_WEBGPU'
  | 'NO_ADAPTER'
  | 'MISSING_FEATURE'
  | 'LIMIT_EXCEEDED'
  | 'DEVICE_LOST'
  | 'GPU_VALIDATION'
  | 'GPU_OUT_OF_MEMORY'
  | 'KERNEL_REGISTRY'
  | 'UNIFORM_FIELD'
  | 'SAFETENSORS'
  | 'WEIGHTS'
  | 'INPUT'
  | 'NUMERIC'
  | 'MODEL_SPEC'
  | 'DISPOSED'
  | 'USER_KERNEL'
  | 'IO'
  | 'ABORTED'
  | 'TUNING'
  | 'SELF_TEST'
  | 'CPU_RUNTIME';

export class EffnetError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EffnetError';
    this.code = code;
  }
}

export function isEffnetError(e: unknown, code?: ErrorCode): e is EffnetError {
  return e instanceof EffnetError && (code === undefined || e.code === code);
}
