/** Every kernel case, in one list. Each kernel family's cases live in test/kernels/<family>.cases.ts. */
import type { KernelCase } from './case.js';
import { elementwiseCases } from './elementwise.cases.js';
import { fusedConvCases } from './fused_conv.cases.js';
import { stemCases } from './stem.cases.js';
import { peakCases } from './peak.cases.js';
import { dwconvCases } from './dwconv.cases.js';
import { seCases } from './se.cases.js';
import { poolCases } from './pool.cases.js';
import { pointwiseCases } from './pointwise.cases.js';
import { preprocessCases, preprocessTextureCases } from './preprocess.cases.js';

export const ALL_CASES: KernelCase[] = [...dwconvCases, ...seCases, ...poolCases, ...elementwiseCases, ...pointwiseCases, ...preprocessCases, ...preprocessTextureCases, ...fusedConvCases, ...stemCases, ...peakCases];
