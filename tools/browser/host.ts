/** The engine as a page global, for `--host chrome`: the CLI drives it with puppeteer's page.evaluate. */
import * as effnet from '../../src/index.js';

(globalThis as unknown as { effnet: typeof effnet }).effnet = effnet;
