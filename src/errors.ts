/**
 * Every failure the engine reports is an EffnetError with a stable `code`, so callers can branch on the
 * kind of problem and users see one sentence naming it instead of a stack trace from deep inside WebGPU.
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
  | 'MODEL_SPEC'
  | 'DISPOSED'
  | 'IO';

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
