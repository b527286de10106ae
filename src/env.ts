/**
 * Where the engine runs. Node (and Node-like runtimes) read files and load Dawn; everything else is a browser
 * or worker. A bundler's `window` shim or jsdom in Node still counts as a browser, since then the page's
 * WebGPU and fetch are what the app means to use.
 */
export const isNode: boolean = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';
