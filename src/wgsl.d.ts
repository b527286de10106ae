/** WGSL files are imported as text: esbuild's `text` loader for bundles, a vitest transform for tests. */
declare module '*.wgsl' {
  const source: string;
  export default source;
}

/**
 * wgsl_reflect's `main` is a CommonJS file inside a `"type": "module"` package, which Node refuses to
 * load; its ES module build is the one that works in every host, so it is imported by path.
 */
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
