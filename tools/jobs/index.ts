/**
 * Every CLI job that runs in Node or in headless Chromium, by name: the CLI's runner (tools/host.ts) calls them in
 * Node, and the page host (tools/browser/host.ts), which bundles this module, calls them in the page.
 */
import { classifyJob } from './classify.js';
import { doctorJob } from './doctor.js';
import type { JobHost } from './host.js';
import { kernelBenchJob } from './kernel-bench.js';
import { profileJob } from './profile.js';
import { adapterJob, reportJob } from './report.js';
import { tuneJob } from './tune.js';
import { verifyJob } from './verify.js';

export const JOBS = {
  adapter: adapterJob,
  classify: classifyJob,
  doctor: doctorJob,
  'kernel-bench': kernelBenchJob,
  profile: profileJob,
  report: reportJob,
  tune: tuneJob,
  verify: verifyJob,
} satisfies Record<string, (job: never, host: JobHost) => Promise<unknown>>;

export type JobName = keyof typeof JOBS;
export type JobInput<N extends JobName> = Parameters<(typeof JOBS)[N]>[0];
export type JobOutput<N extends JobName> = Awaited<ReturnType<(typeof JOBS)[N]>>;
