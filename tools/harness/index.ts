/**
 * The Node-side harness that the `effnet` CLI (tools/) and the developer benchmarks (bench/) share:
 * headless Chromium and a static server, flag parsing, standalone HTML reports, package paths and the
 * sample statistics. Node only; nothing here ships in the library bundle.
 */
export { openChrome, serveStatic, type ChromeSession, type StaticServer } from './chrome.js';
export { backendFlag, intFlag, parseFlags, pretrainedFlags, type Backend } from './flags.js';
export { escapeHtml, inlineBundle, scriptJson } from './standalone.js';
export { BROWSER_DIST, DEMO_DIST, PACKAGE_ROOT } from './paths.js';
export { median, quantile, spread, type Spread } from '../../src/stats.js';
