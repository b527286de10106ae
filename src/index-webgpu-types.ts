/// <reference types="@webgpu/types" preserve="true" />
/**
 * The public API's declarations for TypeScript before 6, whose DOM lib has no WebGPU: the same module, with the
 * `@webgpu/types` globals referenced. TypeScript 6 and 7 declare WebGPU in their DOM lib, and a second copy of
 * those globals conflicts with it, so package.json's exports give them `index.d.ts` (no reference) instead.
 */
export * from './index.js';
