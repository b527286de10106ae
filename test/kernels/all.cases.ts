/** Every kernel case, in one list. Each kernel family's cases live in test/kernels/<family>.cases.ts. */
import type { KernelCase } from './case.js';
import { elementwiseCases } from './elementwise.cases.js';

export const ALL_CASES: KernelCase[] = [...elementwiseCases];
