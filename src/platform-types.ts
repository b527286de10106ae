/**
 * The browser and WebGPU types the public declarations name, named here without naming their globals, so the
 * declarations type-check in any project: one without the DOM lib (Node with `"types": ["node"]`), TypeScript 5
 * with or without `@webgpu/types`, TypeScript 6 and 7 (whose DOM lib declares WebGPU). Each is the project's own
 * global type where the project declares it (the DOM lib, `@webgpu/types`) and otherwise an opaque brand that
 * nothing else is assignable to — never `any`, never `{}` — as @types/node names `Blob` and `fetch`'s types.
 *
 * Modules whose exports name one of these import this module as a namespace (`import type * as web from
 * './platform-types.js'`) and write `web.GPUDevice`, `web.ImageBitmap`, …: in the engine's own build those are
 * the globals themselves. A declaration that names a global directly (or leaves TypeScript to infer one) would
 * fail to compile without the DOM lib: every exported signature that involves one is annotated with these.
 */

declare const unavailable: unique symbol;

/** A type this project does not declare (no DOM lib, no WebGPU types): opaque, branded with its name. */
export interface Unavailable<Name extends string> {
  readonly [unavailable]: Name;
}

/** The instance type of the global class `K` (what `typeof globalThis[K].prototype` is), else `Fallback`. */
type FromGlobal<K extends string, Fallback> = typeof globalThis extends { [P in K]: { prototype: infer T } } ? T : Fallback;
type Global<K extends string> = FromGlobal<K, Unavailable<K>>;

/** The first argument of method `M` of `T`, without `undefined`; `never` where `T` has no such method. */
type ArgOf<T, M extends string> = T extends { [P in M]: (...args: infer A) => unknown } ? Exclude<A[0], undefined> : never;
/** Property `K` of `T`, without `undefined`; `never` where `T` has none. */
type PropOf<T, K extends string> = T extends { [P in K]?: infer V } ? Exclude<V, undefined> : never;
/** The element type of an iterable `T`; `never` for `never`. */
type ElementOf<T> = T extends Iterable<infer E> ? E : never;

// Web platform classes that the DOM lib and @types/node both declare; a project with neither has none of them.
export type URL = Global<'URL'>;
export type AbortSignal = Global<'AbortSignal'>;
export type Blob = Global<'Blob'>;
export type Response = Global<'Response'>;
/** A ReadableStream (of Uint8Array chunks, which the reader checks: a global generic class's prototype has `any` chunks). */
export type ReadableByteStream = Global<'ReadableStream'>;

// Images a browser holds.
export type ImageBitmap = Global<'ImageBitmap'>;
export type ImageData = Global<'ImageData'>;
export type VideoFrame = Global<'VideoFrame'>;
export type HTMLImageElement = Global<'HTMLImageElement'>;
export type HTMLCanvasElement = Global<'HTMLCanvasElement'>;
export type HTMLVideoElement = Global<'HTMLVideoElement'>;
export type OffscreenCanvas = Global<'OffscreenCanvas'>;

// WebGPU objects.
export type GPU = Global<'GPU'>;
export type GPUAdapter = Global<'GPUAdapter'>;
export type GPUDevice = Global<'GPUDevice'>;
export type GPUBuffer = Global<'GPUBuffer'>;
export type GPUTexture = Global<'GPUTexture'>;
export type GPUTextureView = Global<'GPUTextureView'>;
export type GPUQuerySet = Global<'GPUQuerySet'>;
export type GPUBindGroup = Global<'GPUBindGroup'>;
export type GPUComputePipeline = Global<'GPUComputePipeline'>;
export type GPUCommandEncoder = Global<'GPUCommandEncoder'>;
export type GPUComputePassEncoder = Global<'GPUComputePassEncoder'>;
export type GPUSupportedLimits = Global<'GPUSupportedLimits'>;

// WebGPU dictionaries and enums, which have no global value to read: taken from the methods that accept them.
type FeatureName = ElementOf<PropOf<ArgOf<GPUAdapter, 'requestDevice'>, 'requiredFeatures'>>;
/** A WebGPU feature name (`'timestamp-query'`, `'shader-f16'`, …); any string where WebGPU is not declared. */
export type GPUFeatureName = [FeatureName] extends [never] ? string : FeatureName;
type PowerPreference = PropOf<ArgOf<GPU, 'requestAdapter'>, 'powerPreference'>;
export type GPUPowerPreference = [PowerPreference] extends [never] ? 'low-power' | 'high-performance' : PowerPreference;
type TimestampWrites = PropOf<ArgOf<GPUCommandEncoder, 'beginComputePass'>, 'timestampWrites'>;
export type GPUComputePassTimestampWrites = [TimestampWrites] extends [never] ? Unavailable<'GPUComputePassTimestampWrites'> : TimestampWrites;
type LayoutEntry = ElementOf<PropOf<ArgOf<GPUDevice, 'createBindGroupLayout'>, 'entries'>>;
export type GPUBindGroupLayoutEntry = [LayoutEntry] extends [never] ? Unavailable<'GPUBindGroupLayoutEntry'> : LayoutEntry;
/** A buffer range bound to a binding (WebGPU's GPUBufferBinding). */
export interface GPUBufferBinding {
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
}
