/**
 * The engine as a page global, for `--host chrome`: the CLI drives it with puppeteer's page.evaluate. CLI jobs
 * written once over the engine's API (tools/jobs/) are page globals too, so Node and Chromium run the same code.
 */
import * as effnet from '../../src/index.js';
import { doctorJob } from '../jobs/doctor.js';

(globalThis as unknown as { effnet: typeof effnet }).effnet = effnet;
(globalThis as unknown as { effnetJobs: unknown }).effnetJobs = {
  doctor: (job: Parameters<typeof doctorJob>[1]) => doctorJob(effnet, job, (line) => console.log(`effnet: ${line}`)),
};
